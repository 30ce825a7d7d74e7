namespace Aica.Tests.Infra;

public enum Reset { None, Home, Full }

/// <summary>
/// A simulated GPU server for end-to-end tests, run without --root. Each <see cref="Boot"/> runs a bash script in a
/// fresh mount and PID namespace (<c>unshare -m -p</c>) where /data is a persistent tmpfs (kept across boots), /home and /run
/// are fresh tmpfs (volatile SSD), and /etc, /usr and /var are overlays on the real ones whose upper layers survive a home reset
/// and is thrown away for a full reset. Real useradd, real symlinks, real ownership; the host's /etc, /home and
/// /data are never touched.
/// </summary>
public sealed class SimServer : IDisposable
{
    public string Dir { get; }
    public string Data => Path.Combine(Dir, "data");
    public string EtcUpper => Path.Combine(Dir, "etc-upper");

    public SimServer()
    {
        Dir = Directory.CreateTempSubdirectory("aica-sim-").FullName;
        Directory.CreateDirectory(Data);
        Directory.CreateDirectory(Path.Combine(Dir, "newroot"));
        var r = Tools.Sh($"mount -t tmpfs -o size=512m,mode=0755 aica-sim-data '{Data}'");
        if (r.ExitCode != 0) throw new InvalidOperationException($"cannot mount tmpfs (tests need root): {r}");
        NewEtcLayer();
    }

    /// <summary>
    /// Script lines for <see cref="Boot"/>: init (gid 2500), then each member of <paramref name="members"/>
    /// ("name:uid ...") made as aica makes one (private group, in gpu-users, registered with the symlink layout), then
    /// a recover. The script exits 10, 11 or 12 when init, an account or the recover fails.
    /// </summary>
    public static string InitWithMembers(string members) => $$"""
        $AICA init --gid 2500 -q || exit 10
        for u in {{members}}; do
          n=${u%%:*}; id=${u##*:}
          groupadd -g $id $n && useradd -u $id -g $id -G gpu-users -s /bin/bash -d /home/$n -M $n || exit 11
          echo "$n:gpu-users:$id:$id:/bin/bash:symlink" >> /data/config/users.txt
        done
        /data/bin/aica recover -q || exit 12

        """;

    private void NewEtcLayer()
    {
        // /usr and /var are part of the root image too (aica links /usr/local/bin/aica, pam-auth-update writes
        // /var/lib/pam): overlays, so nothing lands on the host's.
        Tools.Sh($"rm -rf '{EtcUpper}' '{Dir}/etc-work' '{Dir}/usr-upper' '{Dir}/usr-work' '{Dir}/var-upper' '{Dir}/var-work'; " +
                 $"mkdir -p '{EtcUpper}' '{Dir}/etc-work' '{Dir}/usr-upper' '{Dir}/usr-work' '{Dir}/var-upper' '{Dir}/var-work'");
    }

    /// <summary>
    /// Boots (after the given reset) and runs <paramref name="script"/> as root inside the server. <c>$AICA</c> is the
    /// binary under test, installed at /data/bin/aica by init. /var/log is volatile too.
    /// </summary>
    public RunResult Boot(Reset reset, string script, int timeoutSeconds = 120)
    {
        if (reset == Reset.Full) NewEtcLayer();
        File.WriteAllText(Path.Combine(Dir, "script.sh"), "set -u\ncd /\n" + script + "\n");
        // A new root on tmpfs, assembled from bind mounts of the host's system directories, so /data can exist
        // without creating anything on the host's /. /etc is an overlay; /data, /home, /run, /var/log are ours.
        var inner = $$"""
            set -eu
            NR='{{Dir}}/newroot'
            mount --make-rprivate /
            mount -t tmpfs -o mode=0755 sim-root "$NR"
            for d in bin sbin lib lib32 lib64 libx32 opt root srv tmp sys dev; do
              [ -e "/$d" ] || continue
              if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$NR/$d"; else mkdir -p "$NR/$d"; mount --rbind "/$d" "$NR/$d"; fi
            done
            # Its own process table: aica's "user has running processes" check must see this server's, not those of a
            # test running beside it with the same uids.
            mkdir -p "$NR/proc" && mount -t proc proc "$NR/proc"
            mkdir -p "$NR/etc" "$NR/data" "$NR/home" "$NR/run"
            mount -t overlay overlay -o lowerdir=/etc,upperdir='{{EtcUpper}}',workdir='{{Dir}}/etc-work' "$NR/etc"
            for d in usr var; do
              mkdir -p "$NR/$d"
              mount -t overlay overlay -o lowerdir=/$d,upperdir='{{Dir}}'/$d-upper,workdir='{{Dir}}'/$d-work "$NR/$d"
            done
            mount --bind '{{Data}}' "$NR/data"
            mount -t tmpfs -o mode=0755 ssd-home "$NR/home"
            mount -t tmpfs -o mode=0755 ssd-run "$NR/run"
            mount -t tmpfs -o mode=0755 ssd-log "$NR/var/log"
            cp '{{Tools.AicaBin}}' "$NR/aica-under-test"
            cp '{{Dir}}/script.sh' "$NR/run/script.sh"
            set +e
            AICA=/aica-under-test exec chroot "$NR" /bin/bash /run/script.sh
            """;
        return Tools.Run("unshare", ["-m", "-p", "--fork", "--propagation", "private", "/bin/bash", "-c", inner], timeoutSeconds: timeoutSeconds);
    }

    /// <summary>Root only: a fresh server, booted once to run <paramref name="script"/> (see <see cref="Boot"/>), then removed.</summary>
    public static RunResult BootOnce(Reset reset, string script, int timeoutSeconds = 120)
    {
        Require.Root();
        using var sim = new SimServer();
        return sim.Boot(reset, script, timeoutSeconds);
    }

    public void Dispose()
    {
        Tools.Sh($"umount -l '{Data}'");
        Tools.Sh($"rm -rf --one-file-system '{Dir}'");
    }
}
