# Managed by bootstrap. Consul server agent on lb1.
datacenter = "dc1"
node_name  = "lb1"
data_dir   = "/opt/consul"
log_level  = "INFO"

# no calls to checkpoint-api.hashicorp.com: servers need not reach the internet
disable_update_check = true

# Gossip and RPC on the private network only; HTTP (8500) and DNS (8600) on loopback only.
bind_addr      = "10.10.0.2"
advertise_addr = "10.10.0.2"
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
    cert_file       = "/etc/consul.d/tls/server.pem"
    key_file        = "/etc/consul.d/tls/server-key.pem"
    tls_min_version = "TLSv1_3"
    verify_incoming = true
    verify_outgoing = true
  }
  internal_rpc {
    verify_server_hostname = true
  }
}
auto_encrypt {
  allow_tls = true
}

server           = true
bootstrap_expect = 1

# Raft timing: Consul's production setting (1) detects a lost leader and elects a new one within
# about a second; the default (5) is meant for small development machines.
performance {
  raft_multiplier = 1
}

# Autopilot: dead servers are removed from the raft peer set only while more than min_quorum
# servers remain, so a server that is down for a while keeps its vote and rejoins as it was, and a
# replacement pushes out the dead server it replaces. New servers vote only after being healthy
# for server_stabilization_time.
autopilot {
  cleanup_dead_servers      = true
  min_quorum                = 1
  last_contact_threshold    = "200ms"
  max_trailing_logs         = 250
  server_stabilization_time = "10s"
}
retry_join = ["10.10.0.2"]

acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true
  tokens {
    initial_management = "f1baa069-b618-4fb4-aa98-8c54a53a2230"
    # works for this agent's own endpoints (members, self) even without a leader, e.g. for
    # /usr/local/lib/bootstrap/consul-server-ready before the cluster has formed
    agent_recovery     = "f074cd0c-6fb2-46e4-a028-11a366dc929e"
    agent              = "6f895f4f-faf0-4489-a089-9ec2b6d46eb4"
    # DNS queries carry no token: they use this one, which may only read services and nodes
    # (load_balancer haproxy resolves the apps' SRV records here; set on nginx LBs as well, so
    # that switching load_balancer never restarts consul). HTTP requests without a token get it too.
    default            = "d1e8e3c4-933f-45ef-adc9-e27fe40176ca"
  }
}
