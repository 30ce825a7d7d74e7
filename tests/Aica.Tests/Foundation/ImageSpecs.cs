using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>
/// aica init --image DIR (issue 11): what a full-reset node image must carry, the recovery and capture units and their
/// enable links, and nothing else. Booted for real in Boot/RealBootSpecs.
/// </summary>
[Trait("level", "blackbox")]
public sealed class ImageSpecs : IDisposable
{
    private readonly string _image = Directory.CreateTempSubdirectory("aica-image-").FullName;
    private readonly Sandbox _sb = new(mountData: false);

    public ImageSpecs()
    {
        Directory.CreateDirectory(Path.Combine(_image, "etc"));
        Directory.CreateDirectory(Path.Combine(_image, "usr"));
    }

    public void Dispose()
    {
        _sb.Dispose();
        Directory.Delete(_image, true);
    }

    private static string Tree(string dir) =>
        Tools.Sh($"cd '{dir}' && find . -mindepth 1 -printf '%p %y %m %u:%g %l\\n' | sort").StdOut;

    [Fact]
    public void Writes_the_boot_units_and_their_enable_links_only_and_a_second_run_changes_nothing()
    {
        Require.Root();
        var r = _sb.Aica("init", "--image", _image);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("""
            ./etc/systemd d 755 root:root 
            ./etc/systemd/system d 755 root:root 
            ./etc/systemd/system/aica-capture.service f 644 root:root 
            ./etc/systemd/system/aica-recovery.service f 644 root:root 
            ./etc/systemd/system/multi-user.target.wants d 755 root:root 
            ./etc/systemd/system/multi-user.target.wants/aica-capture.service l 777 root:root /etc/systemd/system/aica-capture.service
            ./etc/systemd/system/multi-user.target.wants/aica-recovery.service l 777 root:root /etc/systemd/system/aica-recovery.service
            ./etc d 755 root:root 
            ./usr d 755 root:root 

            """.Split('\n').Order().Where(l => l.Length > 0), Tree(_image).Split('\n').Order().Where(l => l.Length > 0));
        Assert.Contains("ExecStart=/data/bin/aica recover", File.ReadAllText(Path.Combine(_image, "etc/systemd/system/aica-recovery.service")));
        // /data is not touched: no config, no tree.
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data")));

        var again = _sb.Aica("init", "--image", _image);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("no changes", again.StdOut);
    }

    [Fact]
    public void The_unit_takes_the_install_path_of_this_servers_config()
    {
        Require.Root();
        Directory.CreateDirectory(_sb.P("/data/config"));
        File.WriteAllText(_sb.P("/data/config/aica.toml"), "[paths]\ninstall = \"/data/tools/aica\"\n");
        var r = _sb.Aica("init", "--image", _image);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("ExecStart=/data/tools/aica recover", File.ReadAllText(Path.Combine(_image, "etc/systemd/system/aica-recovery.service")));
    }

    [Theory]
    [InlineData("/", "run aica init without --image")]
    [InlineData("NOT-AN-IMAGE", "not an image root")]
    public void Refuses_the_running_system_and_a_folder_that_is_no_image(string image, string message)
    {
        Require.Root();
        var dir = image == "NOT-AN-IMAGE" ? Path.Combine(_image, "etc") : image;
        var r = _sb.Aica("init", "--image", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.All);
    }

    [Theory]
    [InlineData("--dry-run")]
    [InlineData("--gid", "2000")]
    public void Refuses_options_that_belong_to_a_servers_init(params string[] extra)
    {
        var r = _sb.Aica(["init", "--image", _image, .. extra]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--image takes no", r.All);
        Assert.Empty(Directory.GetDirectories(Path.Combine(_image, "etc")));
    }
}
