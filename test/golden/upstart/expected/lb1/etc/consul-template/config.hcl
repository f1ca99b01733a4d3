# Managed by bootstrap. consul-template renders one nginx file per app.
# The ACL token comes from CONSUL_HTTP_TOKEN in /etc/consul-template/env (mode 0600), never from argv.
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

# no quiescence wait: every change is rendered at once, and the reload command coalesces
# reloads itself (nginx_reload_coalesce)

template {
  source          = "/etc/consul-template/templates/myapp.ctmpl"
  destination     = "/etc/nginx/conf.d/myapp.conf"
  # keeps the previous render as <destination>.bak; the command restores it when nginx -t fails
  backup          = true
  perms           = 0644
  # the same command for every app: consul-template runs it once per render pass
  command         = "/usr/local/lib/bootstrap/nginx-reload"
  command_timeout = "60s"
}

template {
  source          = "/etc/consul-template/templates/shop.ctmpl"
  destination     = "/etc/nginx/conf.d/shop.conf"
  # keeps the previous render as <destination>.bak; the command restores it when nginx -t fails
  backup          = true
  perms           = 0644
  # the same command for every app: consul-template runs it once per render pass
  command         = "/usr/local/lib/bootstrap/nginx-reload"
  command_timeout = "60s"
}

# the ACME certificate of shop (key and chain) from Consul KV; acme-install checks it and
# installs it, then enables the app's https server and reloads nginx
template {
  source          = "/etc/consul-template/acme/shop.ctmpl"
  destination     = "/etc/nginx/acme/shop/incoming.pem"
  perms           = 0600
  command         = "/usr/local/lib/bootstrap/acme-install"
  command_timeout = "60s"
}
