"""Incident reports: the breach-notification package for a principal or a leaked file."""

from node.governance.incident.collect import Access, IncidentReport, collect_incident
from node.governance.incident.html import render_html

__all__ = ["Access", "IncidentReport", "collect_incident", "render_html"]
