"""The main window: its panels, menus, settings and the run it shows."""
