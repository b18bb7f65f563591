"""Tensors -> plotly figures and PNG grids: pure functions, no display."""
