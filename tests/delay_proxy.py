#!/usr/bin/python3
"""delay_proxy.py - a TCP link with a one-way delay, for tests/cli_tunnel.sh
(tc netem is not available in a container). Python 3 standard library only.

  delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Listens on 127.0.0.1:LISTEN_PORT; each connection is carried to
127.0.0.1:TARGET_PORT as over a link with DELAY_MS one way: the upstream
connection is opened DELAY_MS after the client's (the SYN's trip), and every
chunk read from one side is written to the other DELAY_MS after it was read,
in order, the end of a direction (half-close) included. Prints "listening"
once it is. Runs until killed.
"""
import asyncio
import sys


async def carry(reader, writer_ready, delay):
    """Read one direction and deliver each chunk delay seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def take():
        while True:
            try:
                data = await reader.read(65536)
            except OSError:
                data = b""
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def give():
        writer = await writer_ready
        if writer is None:
            return
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
            except OSError:
                return

    await asyncio.gather(take(), give())


async def serve(client_reader, client_writer, target, delay):
    loop = asyncio.get_running_loop()
    upstream = loop.create_future()
    client_side = loop.create_future()
    client_side.set_result(client_writer)
    up = asyncio.ensure_future(carry(client_reader, upstream, delay))
    await asyncio.sleep(delay)  # the SYN's trip
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        upstream.set_result(None)
        client_writer.close()
        up.cancel()
        return
    upstream.set_result(up_writer)
    down = asyncio.ensure_future(carry(up_reader, client_side, delay))
    await asyncio.gather(up, down, return_exceptions=True)
    for w in (client_writer, up_writer):
        w.close()


async def main():
    port, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000.0
    server = await asyncio.start_server(lambda r, w: serve(r, w, target, delay), "127.0.0.1", port,
                                        backlog=1024)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main())
