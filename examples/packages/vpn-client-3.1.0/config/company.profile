gateway = vpn.example.com
port = 443
protocol = wireguard
split-tunnel = intranet.example.com
