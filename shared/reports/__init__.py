"""Rendering the monthly report: charts (PNG), the email's text and HTML parts, the PDF export and the message."""
