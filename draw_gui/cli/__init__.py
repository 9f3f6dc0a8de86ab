"""The command line: `draw-gui train | sample | eval | models | compare | follow`, headless over `core`."""
