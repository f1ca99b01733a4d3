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

server = false
retry_join = ["10.10.0.2", "10.10.0.12", "10.10.0.22"]

acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true
  tokens {
    agent              = "6f895f4f-faf0-4489-a089-9ec2b6d46eb4"
  }
}
