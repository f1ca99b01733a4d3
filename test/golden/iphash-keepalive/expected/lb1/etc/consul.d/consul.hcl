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

server           = true
bootstrap_expect = 1
retry_join = ["10.10.0.2"]

acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true
  tokens {
    initial_management = "f1baa069-b618-4fb4-aa98-8c54a53a2230"
    agent              = "6f895f4f-faf0-4489-a089-9ec2b6d46eb4"
  }
}
