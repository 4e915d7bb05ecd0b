"""A local DingTalk-compatible HTTP server for development, tests and benchmarks.

One port serves the oapi family (`/gettoken`, `/topapi/...`, `/auth/scopes`), api v1.0
(`/v1.0/...`), the web-login page (`/oauth2/auth`), a read-only admin page (`/`) and a
control API (`/_sandbox/...`). Point the client's oapi, api and login bases at the same URL.

    from connectors.dingtalk.sandbox.server import SandboxServer
    with SandboxServer(port=0, qps=20) as srv:   # srv.url, srv.state (hold srv.state.lock)
        ...

Wire behaviour follows /work/shared/dingtalk-api.md. Where that spec says UNCONFIRMED, the
choice is written next to the code that makes it (grep for "UNCONFIRMED"). Standard library
plus phonenumbers (to refuse mobiles DingTalk refuses); nothing here imports Django or
dtconsole.
"""
