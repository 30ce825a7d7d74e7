using Aica.Tests.Infra;

namespace Aica.Tests.Caches;

/// <summary>
/// Issue 10, finding 1, end to end on a simulated server: a real member (alice) attacks the shared conda cache through the
/// sudoers rule init installed (<c>sudo aica clean --conda</c>, from her own working directory) and through the line
/// cron runs as root (<c>/etc/cron.d/aica</c>), first with links, FIFOs and devices planted beforehand, then with the
/// real swap loop: her process exchanges a package folder and a link to a victim with <c>renameat2(RENAME_EXCHANGE)</c>
/// in a loop (bounded: it stops when told, after a fixed count or after 30 s) while root cleans. Another member's home
/// (0700 and 2700 folders, a HuggingFace token), /data/config and the whole of /data outside the cache must stay
/// exactly as they were.
/// </summary>
[Trait("level", "sim")]
public sealed class CondaSweepEndToEndSpecs
{
    private static readonly string Setup = """
        command -v sudo >/dev/null || { echo "no sudo"; exit 9; }
        command -v gcc >/dev/null || { echo "no gcc"; exit 9; }

        """ + SimServer.InitWithMembers("alice:3001 bob:3002") + """
        H=/data/users/bob
        mkdir -p $H/.ssh $H/private/runs $H/.cache/huggingface
        echo 'ssh-ed25519 AAAA bob' > $H/.ssh/authorized_keys; echo weights > $H/private/runs/w.bin
        echo hf_secret > $H/.cache/huggingface/token; echo 'echo hi' > $H/.bashrc
        chown -R bob:bob $H/.ssh $H/private $H/.cache $H/.bashrc
        chmod 0700 $H/.ssh; chmod 2700 $H/private; chmod 600 $H/.cache/huggingface/token
        P=/data/cache/conda/pkgs
        OLD=$(( $(date +%s) - 40 * 86400 ))
        # an extracted package as conda leaves it, made by alice (umask 002), 40 days old; $2: that many more files
        mkpkg() {
          sudo -u alice sh -c "umask 002; set -e; d=$P/$1; mkdir -p \$d/info \$d/lib/sub \$d/bin
            echo '{}' > \$d/info/index.json; head -c 20000 /dev/zero > \$d/lib/lib.so; echo x > \$d/lib/sub/m.py
            printf '#!/bin/sh\n' > \$d/bin/tool; ln -s lib.so \$d/lib/lib.so.1
            for f in \$(seq 1 ${2:-0}); do echo \$f > \$d/lib/sub/f\$f.py; done
            find \$d -depth -exec touch -h -d @$OLD {} +" || exit 13
        }
        # names, types, sizes, modes, owners, times and bytes of everything outside the cache, the logs and the SSD
        fingerprint() {
          cd /data && find . -path ./cache/conda/pkgs -prune -o -path ./admin/log -prune -o -printf '%p %y %s %m %U:%G %T@ %C@\n' | sort | sha256sum
          find . -path ./cache/conda/pkgs -prune -o -path ./admin/log -prune -o -type f -exec sha256sum {} + | sort | sha256sum
          cd /
        }
        # cron's own line, as cron runs it (from /etc/cron.d/aica)
        CRON=$(sed -n 's/^[0-9* ]* root \(.*clean --all.*\) >>.*/\1/p' /etc/cron.d/aica)
        [ -n "$CRON" ] || exit 14
        """;

    private static void Expect(RunResult r, params string[] wants)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        var o = r.StdOut[r.StdOut.IndexOf("---", StringComparison.Ordinal)..];
        foreach (var want in wants) Assert.True(o.Contains(want + "\n"), $"missing '{want}' in\n{r}");
    }

    [Fact]
    public void Planted_links_fifos_and_devices_through_sudo_and_cron_change_nothing_outside_the_cache()
    {
        var r = SimServer.BootOnce(Reset.None, Setup + """

            mkpkg numpy-1.26-0; mkpkg scipy-1.13-0; mkpkg torch-2.4-0
            sudo -u alice sh -c "
              cd $P && ln -s /data/users/bob home-1.0-0 && ln -s /data/config config-1.0-0 && ln -s /data data-1.0-0
              ln -s / root-1.0-0 && ln -s /data/bin/aica aica-1.0-0.conda && ln -s /data/config cache && mkfifo fifo-1.0-0
              mkdir -p .logs && mkfifo .logs/pipe.log && mkfifo scipy-1.13-0/info/pipe && touch -d @$OLD scipy-1.13-0/info scipy-1.13-0"
            mknod $P/null-1.0-0 c 1 3
            before=$(fingerprint)
            echo "---"
            sudo -u alice sh -c 'cd ~ && sudo -n /data/bin/aica clean --conda' > /run/sudo.out 2>&1; echo "sudo=$?"
            test -d $P/numpy-1.26-0 && echo numpy=kept || echo numpy=cleaned
            mkpkg numpy-1.26-0
            (cd /data/users/alice && timeout 120 sh -c "$CRON") > /run/cron.out 2>&1; echo "cron=$?"
            test -d $P/numpy-1.26-0 && echo numpy2=kept || echo numpy2=cleaned
            test -d $P/scipy-1.13-0/info && echo scipy=kept
            test -p $P/fifo-1.0-0 && test -p $P/.logs/pipe.log && test -c $P/null-1.0-0 && echo specials=kept
            for l in home-1.0-0 config-1.0-0 data-1.0-0 root-1.0-0 aica-1.0-0.conda cache; do test -L $P/$l || echo "link $l gone"; done
            [ "$before" = "$(fingerprint)" ] && echo outside=unchanged || { echo outside=CHANGED; ls -la /data/users/bob /data/config; }
            echo "never-opened=$(grep -c 'never opened' /run/sudo.out)"
            echo "links=$(grep -c 'is a symlink to' /run/sudo.out)"
            grep -q 'in 1 target(s), 0 failed' /run/sudo.out && echo summary=ok
            echo "alice-logged=$(tail -3 /data/admin/log/aica.log | grep -c 'conda: freed .* bytes, 0 failed (by alice)')"
            """);
        Expect(r, "sudo=0", "numpy=cleaned", "cron=0", "numpy2=cleaned", "scipy=kept", "specials=kept", "outside=unchanged",
            "never-opened=3", "links=6", "summary=ok", "alice-logged=1");
        Assert.DoesNotContain("gone", r.StdOut);
    }

    /// <summary>alice's attack loop: exchange two names of one folder until told to stop, at most COUNT times or SECONDS; after
    /// the first exchange it writes to the READY FIFO, so the clean starts while the loop runs (no timing guess).</summary>
    private const string Swapper = """
        cat > /run/swapper.c <<'EOF'
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
          if (argc != 8) return 2;
          int dir = open(argv[1], O_RDONLY | O_DIRECTORY);
          if (dir < 0) return 3;
          long count = atol(argv[4]), swaps = 0;
          time_t end = time(NULL) + atoi(argv[5]);
          for (long i = 0; i < count; i++) {
            if (renameat2(dir, argv[2], dir, argv[3], RENAME_EXCHANGE) == 0 && ++swaps == 1) {
              int ready = open(argv[7], O_WRONLY); /* tells the script the loop runs: it starts the clean now */
              if (ready >= 0) { if (write(ready, "r\n", 2) < 0) return 4; close(ready); }
            }
            if ((i & 255) == 0 && (access(argv[6], F_OK) == 0 || time(NULL) >= end)) break;
          }
          printf("%ld\n", swaps);
          return 0;
        }
        EOF
        gcc -O2 -o /run/swapper /run/swapper.c || exit 15
        """;

    [Fact]
    public void A_member_swapping_a_package_folder_and_a_link_in_a_loop_while_sudo_and_cron_clean_reaches_nothing()
    {
        var r = SimServer.BootOnce(Reset.None, Setup + "\n" + Swapper + """

            before=$(fingerprint)
            echo "---"
            swaps=0; caught=0; bad=0
            for i in $(seq 1 16); do
              case $((i % 3)) in 0) victim=/data/users/bob ;; 1) victim=/data/config ;; 2) victim=/data ;; esac
              mkpkg pkg-$i-0 300; mkpkg other-$i-0
              sudo -u alice ln -s $victim $P/evil-$i
              rm -f /run/stop /run/ready; mkfifo -m 666 /run/ready
              sudo -u alice /run/swapper $P pkg-$i-0 evil-$i 50000000 30 /run/stop /run/ready > /run/swaps 2>&1 &
              timeout 30 sh -c 'read x < /run/ready' || echo "round $i: the swap loop did not start"
              if [ $((i % 2)) = 0 ]; then
                sudo -u alice sh -c 'cd ~ && sudo -n /data/bin/aica clean --conda' > /run/clean.out 2>&1; rc=$?
              else
                (cd /data/users/alice && sh -c "$CRON") > /run/clean.out 2>&1; rc=$?
              fi
              touch /run/stop; wait
              swaps=$((swaps + $(cat /run/swaps)))
              # exit 1 only for a change caught and reported; anything else (a refusal, a crash) is a failure of the test
              if [ $rc = 1 ] && grep -q 'while cleaning' /run/clean.out; then caught=$((caught + 1))
              elif [ $rc != 0 ]; then bad=$((bad + 1)); echo "round $i: exit $rc"; cat /run/clean.out; fi
              test -d $P/other-$i-0 && { echo "round $i: other-$i-0 kept"; cat /run/clean.out; }
            done
            [ "$before" = "$(fingerprint)" ] && echo outside=unchanged || { echo outside=CHANGED; ls -la /data/users/bob /data/config /data; }
            echo "bad=$bad"
            [ $swaps -gt 1000 ] && echo swapped=yes || echo "swapped=only $swaps"
            echo "rounds where a change was caught and reported (exit 1): $caught" >&2
            """, timeoutSeconds: 600);
        Expect(r, "outside=unchanged", "bad=0", "swapped=yes");
        Assert.DoesNotContain("kept", r.StdOut[r.StdOut.IndexOf("---", StringComparison.Ordinal)..]);
    }
}
