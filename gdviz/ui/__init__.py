"""The Qt layer of gdviz: PySide6 + pyqtgraph, thin over the pure core."""

from gdviz.ui import qtmirror

qtmirror.install()  # before anything imports pyqtgraph (~0.2 s of its import: see the module)
