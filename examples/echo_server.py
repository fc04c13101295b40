"""A TCP echo server and its client over loopback, as a Windows program writes them:
the server takes its port exclusively (SO_EXCLUSIVEADDRUSE), a second server on the
same port fails with WSAEADDRINUSE.

    python echo_server.py [PORT]
"""

import socket
import sys
import threading

if not hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # not Windows, and not under portpool.patch()
    sys.exit(f"{__file__}: a Windows program; elsewhere run it under portpool.patch(),"
             f" as `portpool run {__file__}` does")


def serve_once(server):
    conn, peer = server.accept()
    with conn:
        data = conn.recv(1024)
        conn.sendall(data.upper())
    return peer


def main(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    print(f"listening on {server.getsockname()}")

    second = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        second.bind(("127.0.0.1", port))
    except OSError as err:
        print(f"second server: {type(err).__name__} winerror={err.winerror}")
    finally:
        second.close()

    peers = []
    thread = threading.Thread(target=lambda: peers.append(serve_once(server)))
    thread.start()
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"hello, windows")
        reply = client.recv(1024)
        local = client.getsockname()
    thread.join()
    server.close()
    print(f"reply: {reply.decode()}")
    print(f"the server saw the client's port: {peers[0][1] == local[1]}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 or not all(arg.isdigit() for arg in sys.argv[1:]):
        print("usage: python echo_server.py [PORT]   (default 8080)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8080))
