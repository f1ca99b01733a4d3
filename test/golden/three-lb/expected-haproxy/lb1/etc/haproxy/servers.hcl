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
  source          = "/etc/haproxy/servers/myapp.ctmpl"
  destination     = "/etc/haproxy/servers/myapp.list"
  perms           = 0644
  # the same command for every app: consul-template runs it once per render pass
  command         = "/usr/local/lib/bootstrap/haproxy-servers"
  command_timeout = "30s"
}
