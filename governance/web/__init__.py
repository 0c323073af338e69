"""Web plumbing shared by every feature: htmx helpers, security headers, error pages."""
