# Managed by bootstrap. Consul client agent on web1.
datacenter = "dc1"
node_name  = "web1"
data_dir   = "/opt/consul"
log_level  = "INFO"

# no calls to checkpoint-api.hashicorp.com: servers need not reach the internet
disable_update_check = true

# Gossip and RPC on the private network only; HTTP (8500) and DNS (8600) on loopback only.
bind_addr      = "10.10.0.3"
advertise_addr = "10.10.0.3"
client_addr    = "127.0.0.1"

encrypt = "kYrssTylAhhl27MFu7fFYcT147ze7RbPXNWW8iNeSaY="

# HashiCorp's production hardening (README "Security model"): no script checks (a check that runs
# a command is code execution for whoever may register one; registrator's SERVICE_CHECK_SCRIPT is
# refused), no `consul exec`, and the web UI only when consul_ui asks for it.
enable_script_checks       = false
enable_local_script_checks = false
disable_remote_exec        = true
ui_config {
  enabled = false
}

# RPC (8300) over mutual TLS. The CA and every server's certificate for server.dc1.consul
# are made on the laptop (.bootstrap/secrets/); client agents get theirs from the servers
# (auto_encrypt). consul_rpc_tls = on.
# HTTP (8500) stays plain on loopback.
tls {
  defaults {
    ca_file         = "/etc/consul.d/tls/ca.pem"
    tls_min_version = "TLSv1_3"
    verify_incoming = false
    verify_outgoing = true
  }
  internal_rpc {
    verify_server_hostname = true
  }
}
auto_encrypt {
  tls = true
}

server = false
retry_join = ["10.10.0.2"]

acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true
  tokens {
    agent              = "6f895f4f-faf0-4489-a089-9ec2b6d46eb4"
  }
}
