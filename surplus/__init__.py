"""Maillon's web application and domain: models, services, views and the JSON API."""
