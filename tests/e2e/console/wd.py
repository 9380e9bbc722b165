#!/usr/bin/env python3
"""A small WebDriver client (the W3C protocol over HTTP, standard library only) for the console's
end-to-end test: Debian's headless Chromium driven through chromedriver on loopback.

    wd.py STATE start DRIVER_PORT PROFILE_DIR [--insecure] [CHROMIUM-ARG...]
                                                 new session; STATE keeps its address and id
                                                 (--insecure: accept any TLS certificate)
    wd.py STATE go URL                           navigate and wait for the page to load
    wd.py STATE text CSS                         the visible text of the first match
    wd.py STATE wait CSS TEXT [SECONDS]          wait until the first match's text contains TEXT
    wd.py STATE select CSS VALUE                 choose an option of a <select> (as a person clicks it)
    wd.py STATE click CSS                        click the first match
    wd.py STATE eval JS                          run a script, print its value (a string as it is, else JSON)
    wd.py STATE shot FILE                        save a PNG screenshot
    wd.py STATE quit                             end the session

Exit status 0 on success; on failure the reason is printed on stderr and the status is 1.
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}").get("value")
    except urllib.error.HTTPError as e:
        detail = json.loads(e.read() or b"{}").get("value", {})
        raise RuntimeError(f"{method} {path}: {detail.get('error')}: {detail.get('message', '')[:300]}")


def find(base, sid, css, wait=10.0):
    deadline = time.time() + wait
    while True:
        try:
            return call(base, "POST", f"/session/{sid}/element",
                        {"using": "css selector", "value": css})[ELEMENT]
        except RuntimeError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def text(base, sid, css):
    return call(base, "GET", f"/session/{sid}/element/{find(base, sid, css)}/text")


def main(argv):
    state, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "start":
        port, profile, extra = args[0], args[1], args[2:]
        insecure = "--insecure" in extra
        extra = [a for a in extra if a != "--insecure"]
        base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": insecure,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                # No network beyond loopback: Chromium's own background traffic is turned off.
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1440,1000",
                         f"--user-data-dir={profile}"] + extra,
            },
        }}}
        session = call(base, "POST", "/session", caps)
        with open(state, "w") as f:
            json.dump({"base": base, "id": session["sessionId"]}, f)
        return 0
    with open(state) as f:
        s = json.load(f)
    base, sid = s["base"], s["id"]
    if cmd == "go":
        call(base, "POST", f"/session/{sid}/url", {"url": args[0]})
    elif cmd == "text":
        print(text(base, sid, args[0]))
    elif cmd == "wait":
        css, want = args[0], args[1]
        deadline = time.time() + (float(args[2]) if len(args) > 2 else 20.0)
        seen = ""
        while time.time() < deadline:
            try:
                seen = text(base, sid, css)
                if want in seen:
                    return 0
            except RuntimeError:
                pass
            time.sleep(0.25)
        print(f"{css!r} never showed {want!r}; last seen: {seen[:2000]!r}", file=sys.stderr)
        return 1
    elif cmd == "select":
        css, value = args
        find(base, sid, css)
        # The option whose text is the value (the selectors' options are their values).
        options = call(base, "POST", f"/session/{sid}/elements",
                       {"using": "css selector", "value": f"{css} option"})
        for o in options:
            if call(base, "GET", f"/session/{sid}/element/{o[ELEMENT]}/text").strip() == value:
                call(base, "POST", f"/session/{sid}/element/{o[ELEMENT]}/click", {})
                break
        else:
            raise RuntimeError(f"no option {value!r} in {css}")
    elif cmd == "click":
        call(base, "POST", f"/session/{sid}/element/{find(base, sid, args[0])}/click", {})
    elif cmd == "eval":
        value = call(base, "POST", f"/session/{sid}/execute/sync", {"script": args[0], "args": []})
        print(value if isinstance(value, str) else json.dumps(value))
    elif cmd == "shot":
        png = call(base, "GET", f"/session/{sid}/screenshot")
        with open(args[0], "wb") as f:
            f.write(base64.b64decode(png))
    elif cmd == "quit":
        call(base, "DELETE", f"/session/{sid}")
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (RuntimeError, OSError, KeyError) as e:
        print(f"wd.py: {e}", file=sys.stderr)
        sys.exit(1)
