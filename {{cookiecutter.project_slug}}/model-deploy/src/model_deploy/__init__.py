"""Deployment of approved model packages to the staging and prod endpoints."""
