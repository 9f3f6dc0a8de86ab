"""`draw-gui` and `python -m draw_gui`: the window, or a subcommand (train, sample, eval)."""
import sys


def main(argv=None) -> int:
    from draw_gui.cli.main import main as cli_main
    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
