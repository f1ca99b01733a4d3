# Managed by bootstrap. consul-template as haproxy-servers: renders each app's healthy instances
# to /etc/haproxy/servers/<app>.list and pushes them into haproxy's server slots through the
# runtime API (/usr/local/lib/bootstrap/haproxy-servers). No reload follows, so there is no
# quiescence wait: every change is pushed as soon as Consul's blocking query returns.
# The ACL token comes from CONSUL_HTTP_TOKEN in /etc/haproxy/servers.env (mode 0600), never from argv.
consul {
  address = "127.0.0.1:8500"

  retry {
    enabled     = true
    attempts    = 0
    backoff     = "250ms"
    max_backoff = "1m"
  }
}

log_level = "info"

template {
  source          = "/etc/haproxy/servers/shop.ctmpl"
  destination     = "/etc/haproxy/servers/shop.list"
  perms           = 0644
  # the same command for every app: consul-template runs it once per render pass
  command         = "/usr/local/lib/bootstrap/haproxy-servers"
  command_timeout = "30s"
}

template {
  source          = "/etc/haproxy/servers/status-page.ctmpl"
  destination     = "/etc/haproxy/servers/status-page.list"
  perms           = 0644
  # the same command for every app: consul-template runs it once per render pass
  command         = "/usr/local/lib/bootstrap/haproxy-servers"
  command_timeout = "30s"
}

template {
  source          = "/etc/haproxy/servers/blog.ctmpl"
  destination     = "/etc/haproxy/servers/blog.list"
  perms           = 0644
  # the same command for every app: consul-template runs it once per render pass
  command         = "/usr/local/lib/bootstrap/haproxy-servers"
  command_timeout = "30s"
}

# the ACME certificate of shop (key and chain) from Consul KV; acme-install checks it,
# writes it where certs.list names it (haproxy -c first) and hands it to haproxy's runtime API
template {
  source          = "/etc/haproxy/acme/shop.ctmpl"
  destination     = "/etc/haproxy/acme/shop.pem"
  perms           = 0600
  command         = "/usr/local/lib/bootstrap/acme-install"
  command_timeout = "60s"
}
