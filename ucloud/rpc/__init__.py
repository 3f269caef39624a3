"""The RPC layer: running calls, in one process or over HTTP.

From the bottom up: the error mapping, request parsing, audit and the
transaction guard; the pipeline every call runs through (``context``,
``pipeline``) and the registry of implementations; the client side
(``transports``, ``client``); the HTTP server side (``controllers``,
``schema``, ``routes``). Each module imports only those below it, so the
client never imports the HTTP server::

    from ucloud.rpc.client import RPCClient
    from ucloud.rpc.controllers import Controller, implement
"""
