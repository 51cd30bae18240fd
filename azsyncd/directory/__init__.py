"""Entra ID through Microsoft Graph: tokens from msal, users and groups over httpx."""
