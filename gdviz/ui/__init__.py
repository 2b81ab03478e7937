"""The Qt layer of gdviz: PySide6 + pyqtgraph, thin over the pure core."""
