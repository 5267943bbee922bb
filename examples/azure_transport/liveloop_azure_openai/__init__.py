"""An example third-party liveloop transport: OpenAI Realtime on Azure OpenAI.

Installing the distribution registers the ``openai/azure_websocket`` pair through the
``liveloop`` entry-point group (see ``plugin.py``).
"""

from .connection import API_VERSION, AzureConnection, AzureConnector, azure_realtime_url

__all__ = ["API_VERSION", "AzureConnection", "AzureConnector", "azure_realtime_url"]
