#!/bin/sh
# Browser tests drive Debian's chromium; install it when missing and we may (root), else say why
# the browser tests will be skipped.
# fonts-wqy-microhei makes Chinese text readable in the screenshots.
if command -v chromium >/dev/null 2>&1 && { [ -d /usr/share/fonts/truetype/wqy ] || [ "$(id -u)" != "0" ]; }; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
        || echo "NOTICE: could not install chromium; browser tests will be SKIPPED"
else
    echo "NOTICE: chromium is missing and we are not root; browser tests will be SKIPPED"
fi
exit 0
