using Aica.Tests.Infra;

namespace Aica.Tests.Users;

/// <summary>Issue 11 point 8: the setgid bit of /data/users/U survives a narrowing, and doctor sees it missing.</summary>
[Trait("level", "blackbox")]
public sealed class DataDirModeSpecs
{
    [Theory]
    [InlineData("755", "2750")] // made by an older script: wide, no setgid
    [InlineData("750", "2750")] // what the narrowing used to leave behind
    [InlineData("700", "2700")] // a deliberate 0700 stays 0700, with the group's setgid
    [InlineData("777", "2750")]
    public void A_data_dir_without_setgid_fails_doctor_and_recover_gives_it_back(string found, string fixedMode)
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        // g-s first: GNU chmod keeps a directory's setgid for a plain numeric mode.
        Tools.Sh($"chmod g-s '{sb.P("/data/users/alice")}' && chmod {found} '{sb.P("/data/users/alice")}'");
        Assert.Equal($"alice:gpu-users {found} directory", sb.Stat("/data/users/alice"));

        var doctor = sb.Aica("doctor");
        Assert.Equal(1, doctor.ExitCode);
        Assert.Contains($"/data/users/alice: mode 0{found}, want {fixedMode.PadLeft(4, '0')}", doctor.StdOut);

        var r = sb.Aica("recover");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"alice:gpu-users {fixedMode} directory", sb.Stat("/data/users/alice"));
        var again = sb.Aica("doctor");
        Assert.DoesNotContain("/data/users/alice: mode", again.StdOut);
        var plan = System.Text.Json.JsonDocument.Parse(sb.Aica("recover", "--dry-run", "--json").StdOut).RootElement;
        Assert.Equal(0, plan.GetProperty("actions").GetArrayLength()); // steady after one run
    }

    [Fact]
    public void A_data_dir_whose_owner_is_fixed_keeps_its_setgid()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        // Wrong owner and group: the chown clears set-id bits on some file systems; the mode is set after it.
        Tools.Sh($"chown 0:0 '{sb.P("/data/users/alice")}' && chmod g-s '{sb.P("/data/users/alice")}' && chmod 755 '{sb.P("/data/users/alice")}'");
        Assert.True(sb.Aica("recover").ExitCode == 0);
        Assert.Equal("alice:gpu-users 2750 directory", sb.Stat("/data/users/alice"));
    }
}
