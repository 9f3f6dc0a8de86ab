"""The live loss plot, as a user of the training window sees it."""

import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore

from draw_gui.widgets.loss_plot import LossPlot

TOTAL, LX, LZ = range(3)


def reference_ema(values, weight):
    """TensorBoard's debiased EMA, written plainly."""
    smoothed, last = [], 0.0
    for count, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        smoothed.append(last / (1 - weight ** count))
    return np.array(smoothed)


def synthetic_run(n, start_step=0, seed=0):
    rng = np.random.default_rng(seed)
    steps = start_step + 10 * np.arange(n)
    kl = 25 * (1 - np.exp(-np.arange(n) / 800)) + rng.normal(0, 1, n)
    recon = 185 * np.exp(-np.arange(n) / 1000) + 75 + rng.normal(0, 5, n)
    return steps, recon + kl, recon, kl


@pytest.fixture
def plot(qtbot):
    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(800, 400)
    return widget


def wait_for_curve(qtbot, plot, index, steps, values):
    """Curves refresh on the next event-loop turn; wait until one shows (steps, values)."""
    def shows():
        x, y = plot.curves[index].xData, plot.curves[index].yData
        assert x is not None and np.array_equal(x, steps)
        np.testing.assert_allclose(y, values, rtol=1e-12, atol=1e-9)
    qtbot.waitUntil(shows, timeout=3000)


def test_appended_points_appear_in_the_curves(qtbot, plot):
    plot.smoothing = 0
    steps, loss, recon, kl = synthetic_run(300)
    plot.append(steps, loss, recon, kl)
    assert plot.point_count() == 300
    for index, values in ((TOTAL, loss), (LX, recon), (LZ, kl)):
        wait_for_curve(qtbot, plot, index, steps, values)


def test_several_batches_show_the_same_as_one_batch(qtbot):
    """Also checks the incremental smoothing against smoothing everything at once."""
    steps, loss, recon, kl = synthetic_run(3000)
    in_batches, at_once = LossPlot(), LossPlot()
    for widget in (in_batches, at_once):
        qtbot.addWidget(widget)
        widget.smoothing = 0.9
    for part in np.array_split(np.arange(3000), [1, 7, 500, 1024, 1025, 2100]):
        in_batches.append(steps[part], loss[part], recon[part], kl[part])
    at_once.append(steps, loss, recon, kl)
    for index in (TOTAL, LX, LZ):
        qtbot.waitUntil(lambda index=index: at_once.curves[index].xData is not None)
        wait_for_curve(qtbot, in_batches, index, at_once.curves[index].xData,
                       at_once.curves[index].yData)


def test_buffers_grow_past_the_initial_capacity_without_losing_points(qtbot, plot):
    plot.smoothing = 0
    n = 5 * LossPlot.initial_capacity + 3
    steps, loss, recon, kl = synthetic_run(n)
    for part in np.array_split(np.arange(n), 17):
        plot.append(steps[part], loss[part], recon[part], kl[part])
    assert plot.point_count() == n
    wait_for_curve(qtbot, plot, TOTAL, steps, loss)
    wait_for_curve(qtbot, plot, LZ, steps, kl)


def test_smoothing_zero_shows_raw_values_and_the_slider_smooths(qtbot, plot):
    steps, loss, recon, kl = synthetic_run(2000)
    plot.smoothing = 0
    plot.append(steps, loss, recon, kl)
    wait_for_curve(qtbot, plot, LX, steps, recon)

    plot.smoothing_slider.setValue(900)  # as if dragged to 0.9
    assert plot.smoothing == pytest.approx(0.9)
    assert plot.smoothing_value_label.text() == "0.900"
    for index, values in ((TOTAL, loss), (LX, recon), (LZ, kl)):
        wait_for_curve(qtbot, plot, index, steps, reference_ema(values, 0.9))

    plot.smoothing = 0  # the property moves the slider back
    assert plot.smoothing_slider.value() == 0
    wait_for_curve(qtbot, plot, LX, steps, recon)


@pytest.mark.parametrize("weight", [0.001, 0.3, 0.6, 0.99, 0.999])
def test_smoothing_matches_the_debiased_ema_at_any_weight(qtbot, plot, weight):
    steps, loss, recon, kl = synthetic_run(6000, seed=1)
    plot.smoothing = weight
    for part in np.array_split(np.arange(6000), 5):
        plot.append(steps[part], loss[part], recon[part], kl[part])
    wait_for_curve(qtbot, plot, LZ, steps, reference_ema(kl, weight))


def test_a_nan_loss_is_shown_as_a_gap_and_does_not_poison_the_smoothing(qtbot, plot):
    steps, loss, recon, kl = synthetic_run(50)
    loss[20] = np.nan
    plot.smoothing = 0.6
    plot.append(steps, loss, recon, kl)
    finite = np.isfinite(loss)
    expected = loss.copy()
    expected[finite] = reference_ema(loss[finite], 0.6)
    qtbot.waitUntil(lambda: plot.curves[TOTAL].yData is not None)
    shown = plot.curves[TOTAL].yData
    assert np.isnan(shown[20])
    np.testing.assert_allclose(shown[finite], expected[finite], rtol=1e-12)
    assert not plot.grab().isNull()


def test_evaluation_markers_appear_at_step_and_nll(qtbot, plot):
    plot.add_evaluation(6000, 96.5)
    plot.add_evaluation(12000, 91.25)
    x, y = plot.eval_markers.xData, plot.eval_markers.yData
    np.testing.assert_array_equal(x, [6000, 12000])
    np.testing.assert_array_equal(y, [96.5, 91.25])
    # named beside the plot, not in a legend over the newest points
    assert plot.eval_checkbox.text() == "test NLL bound" and not plot.eval_checkbox.icon().isNull()
    assert not [item for item in plot.plot_item.scene().items() if isinstance(item, pg.LegendItem)]
    plot.eval_checkbox.setChecked(False)
    assert not plot.eval_markers.isVisible()


def test_set_history_replaces_everything_and_clear_empties(qtbot, plot):
    plot.smoothing = 0
    plot.append(*synthetic_run(500))
    plot.add_evaluation(100, 150.0)
    steps, loss, recon, kl = synthetic_run(200, start_step=70_000, seed=3)
    plot.set_history(steps, loss, recon, kl, [70_500, 71_000], [99.0, 97.5])
    assert plot.point_count() == 200
    wait_for_curve(qtbot, plot, TOTAL, steps, loss)
    wait_for_curve(qtbot, plot, LX, steps, recon)
    np.testing.assert_array_equal(plot.eval_markers.xData, [70_500, 71_000])

    plot.clear()
    assert plot.point_count() == 0
    qtbot.waitUntil(lambda: all(curve.xData is None for curve in plot.curves))
    assert plot.eval_markers.xData is None


def test_hover_shows_the_step_and_values_under_the_mouse(qtbot, plot):
    plot.smoothing = 0
    steps = np.arange(0, 5000, 10)
    loss, recon, kl = 200 - steps / 50, 170 - steps / 60, 30 + steps / 1000
    plot.append(steps, loss, recon, kl)
    plot.show()
    qtbot.waitExposed(plot)
    view_box = plot.plot_item.getViewBox()
    qtbot.waitUntil(lambda: view_box.viewRange()[0][1] >= 4990)  # auto-ranged to the data

    # Mouse at step 1243 (nearest point: step 1240) and some height inside the plot.
    scene_pos = view_box.mapViewToScene(QtCore.QPointF(1243, 100))
    plot.plot_widget.scene().sigMouseMoved.emit(scene_pos)
    qtbot.waitUntil(lambda: "step 1,240" in plot.hover_label.text())
    assert plot.hover_label.text() == "step 1,240 · loss 175.2 · Lx 149.3 · Lz 31.2"

    plot._on_mouse_moved((view_box.mapViewToScene(QtCore.QPointF(1236, 100)),))
    assert plot.hover_label.text().startswith("step 1,240 ·")
    plot._on_mouse_moved((view_box.mapViewToScene(QtCore.QPointF(1234, 100)),))
    assert plot.hover_label.text().startswith("step 1,230 ·")


def test_curves_can_be_hidden_and_catch_up_when_shown(qtbot, plot):
    plot.smoothing = 0
    lx_checkbox = plot.visibility_checkboxes[LX]
    lx_checkbox.click()
    assert not plot.curves[LX].isVisible()
    steps, loss, recon, kl = synthetic_run(400)
    plot.append(steps, loss, recon, kl)
    wait_for_curve(qtbot, plot, TOTAL, steps, loss)
    lx_checkbox.click()
    assert plot.curves[LX].isVisible()
    wait_for_curve(qtbot, plot, LX, steps, recon)

    plot.curves[TOTAL].setVisible(False)  # what clicking its legend entry does
    assert not plot.visibility_checkboxes[TOTAL].isChecked()


def test_log_y_toggles_the_log_axis(qtbot, plot):
    plot.append(*synthetic_run(100))
    assert plot.plot_item.getAxis("left").logMode is False
    plot.log_y_checkbox.click()
    assert plot.log_y
    assert plot.plot_item.getAxis("left").logMode is True
    assert plot.curves[TOTAL].opts["logMode"] == [False, True]
    plot.log_y = False
    assert not plot.log_y_checkbox.isChecked()
    assert plot.plot_item.getAxis("left").logMode is False


def test_every_control_explains_itself_in_a_tooltip(plot):
    controls = [plot.smoothing_slider, plot.log_y_checkbox, *plot.visibility_checkboxes]
    assert all(control.toolTip() for control in controls)


def test_a_million_points_append_without_slowing_down_and_render(qtbot, plot):
    batch, batches = 1000, 1000
    rng = np.random.default_rng(0)
    loss = rng.normal(100, 5, batch)
    recon, kl = loss - 20, np.full(batch, 20.0)
    durations = []
    for b in range(batches):
        steps = np.arange(b * batch, (b + 1) * batch)
        started = time.perf_counter()
        plot.append(steps, loss, recon, kl)
        durations.append(time.perf_counter() - started)
    assert plot.point_count() == batch * batches

    def typical_total(window):  # ignore the 5 slowest: a busy machine, not the plot
        return sum(sorted(window)[:-5])
    first, last = typical_total(durations[:100]), typical_total(durations[-100:])
    assert last < 5 * first, f"last 100 appends {last:.3f}s vs first 100 {first:.3f}s"

    qtbot.waitUntil(lambda: plot.curves[TOTAL].xData is not None
                    and len(plot.curves[TOTAL].xData) == batch * batches)
    plot.show()
    qtbot.waitExposed(plot)
    image = plot.grab()
    assert not image.isNull() and image.width() == plot.width()
