using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>Attacks a member can prepare in the trees they write, seen in what root prints or does (black-box, --root).</summary>
public sealed class RedTeamAttackSpecs
{
    private static Sandbox Server()
    {
        Require.Root();
        var sb = new Sandbox();
        sb.Init();
        sb.AddUser("alice", 3001);
        return sb;
    }

    /// <summary>OSC 52 sets the admin's clipboard (paste-jacking into a root shell); erase-line hides the warning itself.</summary>
    private const string Evil = "\u001b]52;c;cm0gLXJmIC8K\u0007\u001b[2K\r\u009b2Kok";

    [Fact]
    public void Link_targets_a_member_plants_reach_the_admins_terminal_only_escaped()
    {
        using var sb = Server();
        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode);
        Directory.CreateDirectory(sb.P("/data/users/alice/.cache"));
        File.CreateSymbolicLink(sb.P("/data/users/alice/.cache/pip"), Evil);
        Directory.Delete(sb.P("/data/users/alice/conda"), true);
        File.CreateSymbolicLink(sb.P("/data/users/alice/conda"), Evil);
        File.Delete(sb.P("/data/users/alice/.profile"));
        File.CreateSymbolicLink(sb.P("/data/users/alice/.profile"), Evil);

        var clean = sb.Aica("clean", "--pip");
        var doctor = sb.Aica("doctor");
        var plan = sb.Aica("recover", "--dry-run");
        var recover = sb.Aica("recover");
        foreach (var r in new[] { clean, doctor, plan, recover })
        {
            Assert.Contains("\\x1b]52;c;", r.All);
            Assert.DoesNotContain('\u001b', r.All);
            Assert.DoesNotContain('\u0007', r.All);
            Assert.DoesNotContain('\u009b', r.All);
        }
    }
}
