"""Following a run folder another process is writing (`draw-gui follow RUN`)."""
