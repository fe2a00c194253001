#!/usr/bin/env bash
# Checks deploy/nginx.conf (or the file given): with a real nginx, `nginx -t` on a copy whose
# certificate paths point at a throwaway self-signed pair; without one, a structural check
# (balanced braces, every statement terminated, and the directives a WebSocket deployment
# needs). nginx is looked up as $HUASHU_NGINX, then on the PATH. To get the real check without
# installing the service (which would start it), extract Debian's binary:
#   apt-get download nginx && dpkg -x nginx_*.deb /tmp/nginx && HUASHU_NGINX=/tmp/nginx/usr/sbin/nginx
# Exit 0 when the config passes; prints which check ran.
set -euo pipefail
conf="${1:-$(dirname "$0")/../deploy/nginx.conf}"
[ -f "$conf" ] || { echo "no such file: $conf" >&2; exit 2; }

structural() {
  local f="$1" problems=0
  # Strip comments and quoted strings, then count braces and look for unterminated lines.
  local body
  body="$(sed -e 's/#.*$//' -e "s/'[^']*'//g" -e 's/"[^"]*"//g' "$f")"
  local open close
  open="$(tr -cd '{' <<<"$body" | wc -c)"
  close="$(tr -cd '}' <<<"$body" | wc -c)"
  if [ "$open" != "$close" ]; then
    echo "$f: unbalanced braces ({ $open, } $close)" >&2; problems=1
  fi
  local n=0 line
  while IFS= read -r line; do
    n=$((n + 1))
    line="${line%"${line##*[![:space:]]}"}"
    line="${line#"${line%%[![:space:]]*}"}"
    [ -z "$line" ] && continue
    case "$line" in
      *\; | *\{ | *\} ) ;;
      # map blocks hold `key value;` pairs, handled by the first case.
      *) echo "$f:$n: statement not terminated: $line" >&2; problems=1 ;;
    esac
  done <<<"$body"
  local need
  for need in 'events *{' 'http *{' 'upstream [A-Za-z0-9_]+ *{' 'server [^ ;]+:[0-9]+' \
              'proxy_http_version 1\.1;' 'proxy_set_header Upgrade \$http_upgrade;' \
              'proxy_set_header Connection \$connection_upgrade;' 'map \$http_upgrade \$connection_upgrade' \
              'proxy_read_timeout' 'location = /ws'; do
    if ! grep -Eq "$need" <<<"$body"; then
      echo "$f: missing: $need" >&2; problems=1
    fi
  done
  return "$problems"
}

nginx_bin="${HUASHU_NGINX:-$(command -v nginx || true)}"
if [ -n "$nginx_bin" ] && [ -x "$nginx_bin" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/logs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=huashu.test \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
  sed -e "s#ssl_certificate_key .*;#ssl_certificate_key $tmp/key.pem;#" \
      -e "s#ssl_certificate .*;#ssl_certificate $tmp/cert.pem;#" \
      -e "s#^http {#http { client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy; fastcgi_temp_path $tmp/fcgi; uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi; access_log $tmp/logs/access.log;#" \
      "$conf" >"$tmp/nginx.conf"
  # (Debian's build keeps its temp directories under /var/lib/nginx, absent without the package.)
  if "$nginx_bin" -t -q -p "$tmp" -e "$tmp/logs/error.log" -c "$tmp/nginx.conf" -g "pid $tmp/nginx.pid;" 2>"$tmp/out"; then
    structural "$conf"
    echo "nginx -t: ok ($("$nginx_bin" -v 2>&1)); structural check: ok"
  else
    cat "$tmp/out" >&2
    exit 1
  fi
else
  structural "$conf"
  echo "structural check: ok (nginx not found; set HUASHU_NGINX for nginx -t)"
fi
