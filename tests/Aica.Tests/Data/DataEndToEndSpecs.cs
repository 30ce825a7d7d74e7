using Aica.Tests.Infra;

namespace Aica.Tests.Data;

/// <summary>
/// The data commands on a simulated server (mount namespace, real accounts in an overlay /etc, no --root):
/// an admin upload with the wrong owner, a legacy path, an orphan; after perms/fix/mirror/orphans the members
/// can read everything as themselves (setpriv --init-groups through the real /etc/group).
/// </summary>
[Trait("level", "sim")]
public sealed class DataEndToEndSpecs
{
    [Fact]
    public void The_ai_lab_incident_is_resolved_for_good()
    {
        var r = SimServer.BootOnce(Reset.None, SimServer.InitWithMembers("alice:3001 bob:3002") + """
            # the incident: an upload owned by a stranger, an orphan, a legacy copy the old containers use
            mkdir -p /data/dataset/sdfdsf /data/users/test-user /opt/ai-lab-data/shared/Benchmark
            echo '<html>' > /data/dataset/sdfdsf/test.html; chown -R 1001:1001 /data/dataset/sdfdsf; chmod -R go-rwx /data/dataset/sdfdsf
            echo old > /opt/ai-lab-data/shared/Benchmark/legacy.csv
            sed -i 's|legacy_mirrors = \[\]|legacy_mirrors = ["/opt/ai-lab-data/shared"]|' /data/config/aica.toml
            A=/data/bin/aica
            $A data verify --user alice 2>&1; echo "verify-before=$?"
            $A data fix -q; echo "fix=$?"
            $A perms -q; echo "perms=$?"
            $A data orphans --remove --yes -q; echo "orphans=$?"
            $A data mirror --link -q; echo "mirror=$?"
            $A data verify; echo "verify-after=$?"
            setpriv --reuid=3002 --regid=3002 --init-groups cat /data/dataset/sdfdsf/test.html /opt/ai-lab-data/shared/Benchmark/legacy.csv
            $A data report -q; echo "report=$?"
            $A doctor -v | grep data.report
            ls /data/admin/backups/
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("[FAIL] alice / sdfdsf: blocked at /data/dataset/sdfdsf", r.StdOut);
        Assert.Contains("verify-before=1", r.StdOut);
        foreach (var ok in new[] { "fix=0", "perms=0", "orphans=0", "mirror=0", "verify-after=0", "report=0" }) Assert.Contains(ok, r.StdOut);
        Assert.Contains("<html>\nold\n", r.StdOut); // bob reads the upload and the merged legacy file through the old path
        Assert.Contains("[PASS] data.report  latest data report", r.StdOut);
        Assert.Matches(@"orphaned_\d{8}_\d{6}", r.StdOut);
    }
}
