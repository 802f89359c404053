"""Helpers the Streamlit pages share: filters, cached reads, charts, downloads (no KPI logic)."""
