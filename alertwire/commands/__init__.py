"""The command line's client commands: each talks to a running server through the JSON API
(by URL and token), never to its database. `--json` everywhere for scripts."""
