"""Files out, without Qt: CSV trajectories, atomic writes, the export errors (files.py), and
frames -> MP4 / GIF through imageio-ffmpeg (video.py). The frames themselves are drawn by the ui
(:mod:`gdviz.ui.recording`)."""
