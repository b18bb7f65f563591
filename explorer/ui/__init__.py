"""The only Streamlit code outside app.py and app_pages/: shared widgets, caches, per-user state."""
