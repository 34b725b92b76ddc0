"""Alert sources that run beside the server: the KubeArmor relay client and the host agent.
Both write what they see to a durable spool first, and a forwarder sends the spool to the
server's `POST /api/v1/alerts`."""
