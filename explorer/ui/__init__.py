"""The only Streamlit code outside app.py and pages/: shared widgets, caches, per-user state."""
