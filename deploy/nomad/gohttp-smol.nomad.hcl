# gohttp-smol as a Nomad exec task: the static binary fetched and checked by
# its sha256, no image needed.
#
# This file is the template. `make nomad-job` fills in @VERSION@, @ARCH@ and
# @SHA256@ from dist/manifest.json and dist/SHA256SUMS and writes
# dist/gohttp-smol.nomad.hcl; publish dist/ under release_url, then:
#
#   nomad job run -var release_url=https://downloads.example.com/gohttp-smol dist/gohttp-smol.nomad.hcl

variable "release_url" {
  type        = string
  description = "Base URL where each version's dist/ is published, as RELEASE_URL/VERSION/FILE."
  default     = "https://downloads.example.com/gohttp-smol"
}

job "gohttp-smol" {
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

    network {
      port "http" {}
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
      tags     = ["http"]

      check {
        name     = "healthz"
        type     = "http"
        path     = "/healthz"
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
      }

      env {
        # The server listens on :$PORT when PORT is set and --addr is not.
        PORT                         = "${NOMAD_PORT_http}"
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
