using Aica.Config;
using Aica.Engine;
using Aica.Integration;
using Aica.Services;
using Aica.Site;
using Aica.Tests.Infra;

namespace Aica.Tests.Integration;

/// <summary>aica install miniconda|uv --from FILE with small fake installers, in a sandbox (--root).</summary>
[Collection("cli")]
[Trait("level", "blackbox")]
public sealed class InstallSpecs : IDisposable
{
    private readonly Sandbox _sb;
    private readonly string _files = Directory.CreateTempSubdirectory("aica-inst-").FullName;

    public InstallSpecs()
    {
        Require.Root();
        _sb = new Sandbox();
    }

    public void Dispose()
    {
        _sb.Dispose();
        Directory.Delete(_files, true);
    }

    private (int Code, string Out, string Err) Aica(params string[] args) => InProcess.Aica(_sb.Root, args);

    /// <summary>
    /// A fake Miniconda installer: like the real one it refuses an existing prefix and bakes the prefix into
    /// bin/conda (which then fails when run from anywhere else), and leaves group-writable files for aica to fix.
    /// </summary>
    private string FakeConda(string version, string failAfter = "", string atEnd = "")
    {
        var p = Path.Combine(_files, $"Miniconda3-{version}{(failAfter.Length > 0 ? "-broken" : "")}-Linux-x86_64.sh");
        File.WriteAllText(p, $$"""
            #!/bin/sh
            [ "$1" = -b ] && [ "$2" = -p ] || { echo "usage: $0 -b -p PREFIX" >&2; exit 9; }
            P=$3
            if [ -e "$P" ]; then echo "ERROR: File or directory already exists: '$P'" >&2; exit 1; fi
            mkdir -p "$P/bin" "$P/pkgs/cache"
            echo pkg > "$P/pkgs/cache/index.json"; chmod 666 "$P/pkgs/cache/index.json"; chmod 777 "$P/pkgs"
            {{failAfter}}
            printf '#!/bin/sh\n[ "$(dirname "$0")" = "%s/bin" ] || { echo "bad interpreter: %s/bin/python" >&2; exit 126; }\necho "conda {{version}}"\n' "$P" "$P" > "$P/bin/conda"
            chmod 775 "$P/bin/conda"
            ln -s conda "$P/bin/conda-link"
            {{atEnd}}
            """.Replace("\r", ""));
        return p;
    }

    private string CondaVersionInSandbox() =>
        Tools.Run(_sb.P("/data/apps/miniconda3/bin/conda"), ["--version"]).StdOut.Trim();

    private void AssertRootOwnedNotWritable(string prefix)
    {
        var bad = Tools.Sh($"find '{_sb.P(prefix)}' \\( ! -user root -o ! -group root -o -perm /022 \\) ! -type l -print").StdOut.Trim();
        Assert.True(bad.Length == 0, $"not root-owned or group/world-writable:\n{bad}");
        var apps = Tools.Sh($"stat -c '%u:%g %a' '{_sb.P("/data/apps")}'").StdOut.Trim();
        Assert.Equal("0:0 755", apps);
    }

    [Fact]
    public void Without_from_it_says_where_to_get_the_installer_and_exits_2_changing_nothing()
    {
        foreach (var tool in new[] { "miniconda", "uv" })
        {
            var (code, stdout, stderr) = Aica("install", tool);
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Contains("https://", stderr);
            Assert.Contains($"aica install {tool} --from FILE", stderr);
        }
        Assert.False(Directory.Exists(_sb.P("/data/apps")));
    }

    [Fact]
    public void Miniconda_installs_root_owned_not_group_writable_verified_and_a_rerun_changes_nothing()
    {
        var inst = FakeConda("24.1.2");
        Tools.Sh($"mkdir -p '{_sb.P("/data/apps")}' && chmod 2775 '{_sb.P("/data/apps")}'"); // the bash era left it group-writable
        var (code, stdout, stderr) = Aica("install", "miniconda", "--from", inst);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("conda 24.1.2", stdout);
        Assert.Equal("conda 24.1.2", CondaVersionInSandbox());
        AssertRootOwnedNotWritable("/data/apps/miniconda3");
        Assert.True((File.GetUnixFileMode(_sb.P("/data/apps/miniconda3/bin/conda")) & UnixFileMode.GroupExecute) != 0, "exec bits are kept");
        Assert.False(File.Exists(_sb.P("/data/apps/.miniconda3.aica-partial")));

        var again = Aica("install", "miniconda", "--from", inst);
        Assert.Equal(0, again.Code);
        Assert.Contains("no changes", again.Out);
    }

    [Fact]
    public void An_upgrade_keeps_the_previous_install_in_a_backup_and_dry_run_changes_nothing()
    {
        Assert.Equal(0, Aica("install", "miniconda", "--from", FakeConda("24.1.2")).Code);
        var snapshot = Tools.Sh($"cd '{_sb.P("/data")}' && find . -printf '%p %m %u %s\\n' | sort").StdOut;
        var dry = Aica("install", "miniconda", "--from", FakeConda("24.9.0"), "--dry-run");
        Assert.True(dry.Code == 0, dry.Out + dry.Err);
        Assert.Contains("[PLAN]", dry.Out);
        Assert.Equal(snapshot, Tools.Sh($"cd '{_sb.P("/data")}' && find . -printf '%p %m %u %s\\n' | sort").StdOut);

        var (code, stdout, stderr) = Aica("install", "miniconda", "--from", FakeConda("24.9.0"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal("conda 24.9.0", CondaVersionInSandbox());
        var kept = Directory.GetDirectories(_sb.P("/data/admin/backups"), "install_*").Single();
        Assert.True(File.Exists(Path.Combine(kept, "miniconda3/bin/conda")), "previous install kept");
    }

    public static TheoryData<string> BadInstallers => ["missing", "not-a-script", "corrupt", "fails-halfway", "wrong-sha", "directory", "empty"];

    [Theory]
    [MemberData(nameof(BadInstallers))]
    public void A_bad_installer_is_exit_1_and_the_previous_install_is_intact(string kind)
    {
        Assert.Equal(0, Aica("install", "miniconda", "--from", FakeConda("24.1.2")).Code);
        var before = Tools.Sh($"cd '{_sb.P("/data/apps")}' && find . -printf '%p %m %u %g %s\\n' | sort && md5sum miniconda3/bin/conda").StdOut;
        var bad = Path.Combine(_files, "bad.sh");
        var extra = new List<string>();
        switch (kind)
        {
            case "missing": bad = Path.Combine(_files, "nope.sh"); break;
            case "not-a-script": File.WriteAllBytes(bad, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0]); break;
            case "corrupt":
                var good = File.ReadAllText(FakeConda("25.1.0"));
                File.WriteAllText(bad, good[..(good.IndexOf("printf", StringComparison.Ordinal) + 10)]); // truncated download
                break;
            case "fails-halfway": bad = FakeConda("25.1.0", failAfter: "echo 'no space left on device' >&2; exit 5"); break;
            case "wrong-sha": bad = FakeConda("25.1.0"); extra.AddRange(["--sha256", new string('a', 64)]); break;
            case "directory": bad = _files; break;
            case "empty": File.WriteAllText(bad, ""); break;
        }
        var (code, stdout, stderr) = Aica(["install", "miniconda", "--from", bad, .. extra]);
        Assert.True(code == 1, $"{kind}: exit {code}\n{stdout}\n{stderr}");
        Assert.Equal(before, Tools.Sh($"cd '{_sb.P("/data/apps")}' && find . -printf '%p %m %u %g %s\\n' | sort && md5sum miniconda3/bin/conda").StdOut);
        Assert.Equal("conda 24.1.2", CondaVersionInSandbox());
    }

    [Fact]
    public void A_failing_first_install_leaves_nothing_behind()
    {
        var (code, _, _) = Aica("install", "miniconda", "--from", FakeConda("24.1.2", failAfter: "exit 5"));
        Assert.Equal(1, code);
        Assert.False(Directory.Exists(_sb.P("/data/apps/miniconda3")));
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/apps")));
    }

    [Fact]
    public void An_interrupted_install_is_detected_by_its_marker_and_redone_with_the_previous_install_kept()
    {
        Assert.Equal(0, Aica("install", "miniconda", "--from", FakeConda("24.1.2")).Code);
        // What a kill -9 in the middle of the installer leaves: the previous install aside, a half-written prefix, the marker.
        Tools.Sh($"""
            cd '{_sb.P("/data/apps")}' && mv miniconda3 .miniconda3.aica-old && mkdir -p miniconda3/bin && echo half > miniconda3/bin/python
            echo 'installing x' > .miniconda3.aica-partial
            """);
        var (code, stdout, stderr) = Aica("install", "miniconda", "--from", FakeConda("24.9.0"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("interrupted install", stdout);
        Assert.Equal("conda 24.9.0", CondaVersionInSandbox());
        Assert.False(File.Exists(_sb.P("/data/apps/miniconda3/bin/python")), "the half-written install is gone");
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/apps"), ".miniconda3.*"));
        var kept = Directory.GetDirectories(_sb.P("/data/admin/backups"), "install_*").Single();
        Assert.Contains("conda 24.1.2", File.ReadAllText(Path.Combine(kept, "miniconda3/bin/conda")));
    }

    /// <summary>
    /// What a crash in the middle of a rollback leaves: the half-written prefix removed, the marker gone, the previous
    /// install still aside (a bash-era one, without aica's record). The next run puts it back first; when that run's
    /// installer fails too, the previous install is back at the prefix, byte for byte.
    /// </summary>
    [Fact]
    public void A_previous_install_left_aside_is_put_back_first_and_survives_a_failing_installer()
    {
        Tools.Sh($"""
            mkdir -p '{_sb.P("/data/apps/.miniconda3.aica-old/bin")}' && printf '#!/bin/sh\necho conda 23.1.0\n' > '{_sb.P("/data/apps/.miniconda3.aica-old/bin/conda")}'
            chmod 755 '{_sb.P("/data/apps/.miniconda3.aica-old/bin/conda")}'
            """);
        var before = Tools.Sh($"cd '{_sb.P("/data/apps/.miniconda3.aica-old")}' && find . -printf '%p %m %u %g %s\\n' | sort && md5sum bin/conda").StdOut;
        var dry = Aica("install", "miniconda", "--from", FakeConda("24.9.0"), "--dry-run");
        Assert.True(dry.Code == 0, dry.Out + dry.Err);
        Assert.Contains("put back first", dry.Out);
        Assert.True(Directory.Exists(_sb.P("/data/apps/.miniconda3.aica-old")), "a dry run moves nothing");

        var (code, stdout, stderr) = Aica("install", "miniconda", "--from", FakeConda("24.9.0", failAfter: "exit 5"));
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal(before, Tools.Sh($"cd '{_sb.P("/data/apps/miniconda3")}' && find . -printf '%p %m %u %g %s\\n' | sort && md5sum bin/conda").StdOut);
        Assert.Equal("conda 23.1.0", CondaVersionInSandbox());
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/apps"), ".miniconda3.*"));
    }

    [Fact]
    public void A_broken_install_without_a_marker_is_found_by_verification_and_replaced()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/apps/miniconda3/bin")}' && printf '#!/bin/sh\\nexit 1\\n' > '{_sb.P("/data/apps/miniconda3/bin/conda")}' && chmod 755 '{_sb.P("/data/apps/miniconda3/bin/conda")}'");
        var (code, stdout, stderr) = Aica("install", "miniconda", "--from", FakeConda("24.9.0"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("does not work", stdout);
        Assert.Equal("conda 24.9.0", CondaVersionInSandbox());
    }

    private string UvArchive(string name, string version, string mode = "755", string extra = "")
    {
        var dir = Path.Combine(_files, name);
        var top = Path.Combine(dir, "uv-x86_64-unknown-linux-gnu");
        Directory.CreateDirectory(top);
        File.WriteAllText(Path.Combine(top, "uv"), $"#!/bin/sh\necho 'uv {version} (x86_64-unknown-linux-gnu)'\n");
        File.WriteAllText(Path.Combine(top, "uvx"), "#!/bin/sh\nexit 0\n");
        Tools.Sh($"chmod {mode} '{top}/uv' '{top}/uvx' && cd '{dir}' && {extra} tar -czf '{dir}.tar.gz' uv-x86_64-unknown-linux-gnu");
        return dir + ".tar.gz";
    }

    [Fact]
    public void Uv_is_unpacked_beside_swapped_in_and_verified_and_an_upgrade_keeps_the_old_one()
    {
        var (code, stdout, stderr) = Aica("install", "uv", "--from", UvArchive("a", "0.4.0"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal("uv 0.4.0 (x86_64-unknown-linux-gnu)", Tools.Run(_sb.P("/data/apps/uv/uv"), ["--version"]).StdOut.Trim());
        Assert.True(File.Exists(_sb.P("/data/apps/uv/uvx")));
        AssertRootOwnedNotWritable("/data/apps/uv");

        var up = Aica("--json", "install", "uv", "--from", UvArchive("b", "0.5.1"));
        Assert.True(up.Code == 0, up.Out + up.Err);
        Assert.Contains("\"status\": \"installed\"", up.Out);
        Assert.Equal("uv 0.5.1 (x86_64-unknown-linux-gnu)", Tools.Run(_sb.P("/data/apps/uv/uv"), ["--version"]).StdOut.Trim());
        Assert.Single(Directory.GetDirectories(_sb.P("/data/admin/backups"), "install_*"));
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/apps"), ".uv.*"));
    }

    public static TheoryData<string> BadArchives => ["corrupt", "not-executable", "symlink-inside", "dotdot-name", "not-gzip", "no-uv"];

    [Theory]
    [MemberData(nameof(BadArchives))]
    public void A_bad_uv_archive_is_exit_1_and_the_previous_uv_is_intact(string kind)
    {
        Assert.Equal(0, Aica("install", "uv", "--from", UvArchive("good", "0.4.0")).Code);
        var before = Tools.Sh($"cd '{_sb.P("/data/apps")}' && find . -printf '%p %m %u %g %s\\n' | sort").StdOut;
        var outside = Path.Combine(_files, "outside");
        string bad = kind switch
        {
            "corrupt" => Truncate(UvArchive("c", "0.6.0")),
            "not-executable" => UvArchive("n", "0.6.0", mode: "644"),
            "symlink-inside" => UvArchive("s", "0.6.0", extra: $"ln -s '{outside}' uv-x86_64-unknown-linux-gnu/escape &&"),
            "dotdot-name" => UvArchive("d", "0.6.0", extra: "tar -P --transform 's|^uv-x86_64-unknown-linux-gnu/uvx|uv-x86_64-unknown-linux-gnu/../../outside/uvx|' -czf ../d.tar.gz uv-x86_64-unknown-linux-gnu; exit 0;"),
            "not-gzip" => WriteText("plain.tar.gz", "<html>404</html>"),
            _ => EmptyArchive(),
        };
        var (code, stdout, stderr) = Aica("install", "uv", "--from", bad);
        Assert.True(code == 1, $"{kind}: exit {code}\n{stdout}\n{stderr}");
        var why = kind switch
        {
            "corrupt" => "corrupt", "not-executable" => "not an executable", "symlink-inside" => "other than files and directories",
            "dotdot-name" => "unsafe name", "not-gzip" => "not a gzip", _ => "missing from the install",
        };
        Assert.Contains(why, stdout + stderr);
        Assert.Equal(before, Tools.Sh($"cd '{_sb.P("/data/apps")}' && find . -printf '%p %m %u %g %s\\n' | sort").StdOut);
        Assert.False(File.Exists(outside));
    }

    private string Truncate(string path)
    {
        var b = File.ReadAllBytes(path);
        File.WriteAllBytes(path, b[..(b.Length / 2)]);
        return path;
    }

    private string WriteText(string name, string text)
    {
        var p = Path.Combine(_files, name);
        File.WriteAllText(p, text);
        return p;
    }

    private string EmptyArchive()
    {
        Tools.Sh($"mkdir -p '{_files}/e/docs' && echo hi > '{_files}/e/docs/README' && cd '{_files}/e' && tar -czf '{_files}/e.tar.gz' docs");
        return $"{_files}/e.tar.gz";
    }

    [Fact]
    public void Doctor_reports_a_missing_an_interrupted_and_a_member_writable_install()
    {
        CheckResult Conda()
        {
            using var s = new AicaServices(new GlobalOptions(Root: _sb.Root));
            return IntegrationChecks.Run(s, new AicaConfig()).Single(c => c.Id == "apps.conda");
        }
        Assert.Equal(CheckStatus.Warn, Conda().Status);
        Assert.Equal(0, Aica("install", "miniconda", "--from", FakeConda("24.1.2")).Code);
        var ok = Conda();
        Assert.True(ok.Status == CheckStatus.Pass && ok.Summary.Contains("conda 24.1.2"), ok.ToString());
        Tools.Sh($"chmod 775 '{_sb.P("/data/apps/miniconda3")}'");
        Assert.Equal(CheckStatus.Fail, Conda().Status);
        Tools.Sh($"chmod 755 '{_sb.P("/data/apps/miniconda3")}' && touch '{_sb.P("/data/apps/.miniconda3.aica-partial")}'");
        var partial = Conda();
        Assert.True(partial.Status == CheckStatus.Fail && partial.Summary.Contains("interrupted"), partial.ToString());
    }

    [Theory]
    [InlineData("/data/apps")]
    [InlineData("/data/apps/miniconda3")]
    public void A_link_planted_on_the_way_to_the_prefix_is_refused_with_exit_3_and_its_target_untouched(string planted)
    {
        var outside = Directory.CreateDirectory(Path.Combine(_files, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "keep"), "keep");
        Tools.Sh($"mkdir -p '{_sb.P("/data/apps")}' && rm -rf '{_sb.P(planted)}' && ln -s '{outside}' '{_sb.P(planted)}'");
        var (code, stdout, stderr) = Aica("install", "miniconda", "--from", FakeConda("24.1.2"));
        Assert.True(code == 3, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("symbolic link", stderr);
        Assert.Equal(["keep"], Directory.GetFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(outside, "keep")));
    }

    [Fact]
    public async Task Killing_aica_in_the_middle_of_the_installer_is_repaired_by_the_next_run()
    {
        Assert.Equal(0, Aica("install", "miniconda", "--from", FakeConda("24.1.2")).Code);
        var ready = Path.Combine(_files, "ready");
        var go = Path.Combine(_files, "go");
        var finished = Path.Combine(_files, "finished");
        Tools.Sh($"mkfifo '{ready}' '{go}' '{finished}'");
        // The installer says it is half-way, then waits; aica is killed (SIGKILL) meanwhile; then the orphaned installer
        // is let go and finishes writing into the prefix, as a real one would.
        var slow = FakeConda("25.0.0", failAfter: $"echo half > '{ready}'; read x < '{go}'", atEnd: $"echo done > '{finished}'");
        var psi = new System.Diagnostics.ProcessStartInfo(Tools.AicaBin) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--root", _sb.Root, "install", "miniconda", "--from", slow }) psi.ArgumentList.Add(a);
        using var aica = System.Diagnostics.Process.Start(psi)!;
        var timeout = TimeSpan.FromSeconds(60);
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("half", (await File.ReadAllTextAsync(ready, ct).WaitAsync(timeout, ct)).Trim());
        aica.Kill(entireProcessTree: false);
        await aica.WaitForExitAsync(ct).WaitAsync(timeout, ct);
        await File.WriteAllTextAsync(go, "go\n", ct).WaitAsync(timeout, ct);
        await File.ReadAllTextAsync(finished, ct).WaitAsync(timeout, ct);
        Assert.True(File.Exists(_sb.P("/data/apps/.miniconda3.aica-partial")), "the marker of the interrupted install");
        Assert.True(Directory.Exists(_sb.P("/data/apps/.miniconda3.aica-old")), "the previous install, aside");

        var (code, stdout, stderr) = Aica("install", "miniconda", "--from", FakeConda("24.9.0"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("interrupted install", stdout);
        Assert.Equal("conda 24.9.0", CondaVersionInSandbox());
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/apps"), ".miniconda3.*"));
        AssertRootOwnedNotWritable("/data/apps/miniconda3");
        var kept = Directory.GetDirectories(_sb.P("/data/admin/backups"), "install_*").Single();
        Assert.Contains("conda 24.1.2", File.ReadAllText(Path.Combine(kept, "miniconda3/bin/conda")));
    }
}
