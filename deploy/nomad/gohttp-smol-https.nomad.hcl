# gohttp-smol with automatic HTTPS as a Nomad exec task: the server gets its
# certificate from Let's Encrypt (or another ACME CA) itself, on the
# client's ports 443 and 80. No image, no certbot, no proxy in front.
#
# This file is a template, filled in like gohttp-smol.nomad.hcl:
#
#   go run ./cmd/mknomad -template deploy/nomad/gohttp-smol-https.nomad.hcl -o dist/gohttp-smol-https.nomad.hcl
#   nomad job run -var domains=example.com,www.example.com -var agree_to_ca_terms=true dist/gohttp-smol-https.nomad.hcl
#
# Each allocation is on a client of its own (static ports 443 and 80), and
# every allocation mounts the host volume "gohttp-smol-acme", where the ACME
# account key and the certificate are kept. Declare it in each client's
# configuration:
#
#   host_volume "gohttp-smol-acme" {
#     path      = "/srv/gohttp-smol-acme"   # a shared NFS mount for count > 1
#     read_only = false
#   }
#
# With count > 1, that path must be one directory shared by the clients (an
# NFS export mounted at the same path): the allocations then take a lock in
# it, one orders the certificate and the others load it, and the HTTP-01
# challenge is answered by whichever allocation the CA reaches. With a
# local directory on each client, each allocation orders its own
# certificate (see DEPLOY.md, "Several instances").

variable "domains" {
  type        = string
  description = "The names of the certificate, comma-separated; their DNS A/AAAA records point at the clients."
}

variable "agree_to_ca_terms" {
  type        = bool
  description = "Whether you accept the CA's terms of service (Let's Encrypt: https://letsencrypt.org/repository/). Required."
  default     = false
}

variable "acme_ca" {
  type        = string
  description = "production or staging (Let's Encrypt), or the directory URL of another ACME CA."
  default     = "production"
}

variable "release_url" {
  type        = string
  description = "Base URL where each version's dist/ is published, as RELEASE_URL/VERSION/FILE."
  default     = "https://downloads.example.com/gohttp-smol"
}

job "gohttp-smol-https" {
  type        = "service"
  datacenters = ["*"]

  meta {
    version = "@VERSION@"
  }

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  constraint {
    attribute = "${attr.cpu.arch}"
    value     = "@ARCH@"
  }

  group "web" {
    count = 2

    # Ports 443 and 80 are the client's own: one allocation per client.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    network {
      port "https" {
        static = 443
      }
      port "http" {
        static = 80
      }
    }

    volume "acme" {
      type      = "host"
      source    = "gohttp-smol-acme"
      read_only = false
    }

    # Replace one allocation at a time, only once the new one passes its
    # check, and roll back on failure.
    update {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "10s"
      healthy_deadline = "2m"
      auto_revert      = true
    }

    service {
      name     = "gohttp-smol"
      port     = "http"
      provider = "nomad" # "consul" where Consul runs
      tags     = ["https"]

      # On port 80, which answers /healthz and /readyz in plain HTTP. Ready
      # means a certificate is served and is not close to expiry.
      check {
        name     = "readyz"
        type     = "http"
        path     = "/readyz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "server" {
      driver = "exec"

      artifact {
        source      = "${var.release_url}/@VERSION@/gohttp-smol_linux_@ARCH@"
        destination = "local/gohttp-smol"
        mode        = "file"

        # go-getter refuses the download unless it has exactly these bytes.
        options {
          checksum = "sha256:@SHA256@"
        }
      }

      config {
        # The executor sets the execute bit on the command it starts; a
        # downloaded artifact has none (hashicorp/nomad#2676).
        command = "local/gohttp-smol"
        # Ports below 1024 for the unprivileged task user; in the exec
        # driver's default allow_caps.
        cap_add = ["net_bind_service"]
      }

      volume_mount {
        volume      = "acme"
        destination = "/var/lib/gohttp-smol-acme"
      }

      env {
        GOHTTP_SMOL_ADDR             = ":${NOMAD_PORT_https}"
        GOHTTP_SMOL_REDIRECT_ADDR    = ":${NOMAD_PORT_http}"
        GOHTTP_SMOL_ACME_DOMAIN      = var.domains
        GOHTTP_SMOL_ACME_AGREE       = var.agree_to_ca_terms
        GOHTTP_SMOL_ACME_CA          = var.acme_ca
        GOHTTP_SMOL_ACME_DIR         = "/var/lib/gohttp-smol-acme"
        GOHTTP_SMOL_SHUTDOWN_TIMEOUT = "10s"
        GOHTTP_SMOL_LOG_FORMAT       = "json"
      }

      # Taken out of service discovery first, so no new requests arrive,
      # then told to stop: the server drains for up to
      # GOHTTP_SMOL_SHUTDOWN_TIMEOUT (10s) and exits 0. kill_timeout leaves
      # 5s more before SIGKILL. SIGINT would do as well: the server treats
      # both alike.
      shutdown_delay = "5s"
      kill_signal    = "SIGTERM"
      kill_timeout   = "15s"

      # Sized from measured peak RSS (VmHWM) under wrk load on loopback,
      # deploy/nomad/measure-rss.sh: 8.6 MiB idle, 16.7 MiB peak with 64
      # connections and 23.4 MiB with 256, over a 1 KiB page, a 100 KiB
      # script with gzip and a 10 MiB file. 64 MB is about 2.7x the
      # 256-connection peak; files up to --max-file-size (1 MiB) are held in
      # memory with their compressed variants, so add about twice the size
      # of your site's small files. memory_max lets a burst use up to 128 MB
      # where memory oversubscription is enabled.
      resources {
        cpu        = 500
        memory     = 64
        memory_max = 128
      }
    }
  }
}
