using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Caches;

/// <summary>
/// <c>aica clean --conda</c> decides "unused" as <c>conda clean --all</c> does and removes it itself (black-box, --root):
/// no conda child process at all.
/// </summary>
[Trait("level", "blackbox")]
public sealed class CondaCleanSpecs
{
    internal const string Pkgs = "/data/cache/conda/pkgs";

    internal static Sandbox Server() => Sandbox.WithUsers("alice", "bob");

    internal static long Ago(int days) => DateTimeOffset.UtcNow.ToUnixTimeSeconds() - days * 86400L;

    /// <summary>An extracted package as conda leaves it: info/, a library, a program; everything <paramref name="ageDays"/> old.</summary>
    internal static void Package(Sandbox sb, string name, int ageDays = 40, int bytes = 20000)
    {
        var d = sb.P($"{Pkgs}/{name}");
        var r = Tools.Sh($$"""
            set -e
            mkdir -p '{{d}}/info' '{{d}}/lib/python3/site' '{{d}}/bin'
            printf '{"name": "{{name}}"}' > '{{d}}/info/index.json'
            printf '{"url": "https://conda.anaconda.org/{{name}}.conda"}' > '{{d}}/info/repodata_record.json'
            head -c {{bytes}} /dev/zero > '{{d}}/lib/lib{{name}}.so'
            printf 'x = 1\n' > '{{d}}/lib/python3/site/{{name}}.py'
            printf '#!/bin/sh\n' > '{{d}}/bin/{{name}}' && chmod 755 '{{d}}/bin/{{name}}'
            ln -s lib{{name}}.so '{{d}}/lib/lib{{name}}.so.1'
            chown -R 3001:2500 '{{d}}'
            find '{{d}}' -depth -exec touch -h -d @{{Ago(ageDays)}} {} +
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    internal static void Old(Sandbox sb, string path, int days = 40) =>
        Assert.Equal(0, Tools.Sh($"find '{sb.P(path)}' -depth -exec touch -h -d @{Ago(days)} {{}} +").ExitCode);

    internal static void Write(Sandbox sb, string path, int bytes = 5000, int ageDays = 40)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(sb.P(path))!);
        File.WriteAllBytes(sb.P(path), new byte[bytes]);
        Old(sb, path, ageDays);
    }

    internal static JsonElement Conda(RunResult r) =>
        JsonDocument.Parse(r.StdOut).RootElement.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("target").GetString() == "conda");

    internal static string[] Strings(JsonElement target, string name) => target.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public void Unused_packages_tarballs_index_cache_logs_and_tempfiles_go_linked_and_recent_ones_stay()
    {
        using var sb = Server();
        Package(sb, "numpy-1.26.4-py312_0");
        Package(sb, "torch-2.4.0-py312_0", bytes: 40000); // linked into alice's env below
        Package(sb, "zlib-1.3-h0", ageDays: 0);            // extracted a moment ago: an install may be about to link it
        Package(sb, "python-3.12.4-h0");                  // one file hard-linked into bob's env below
        Write(sb, $"{Pkgs}/numpy-1.26.4-py312_0.conda", 30000);
        Write(sb, $"{Pkgs}/old-1.0-0.tar.bz2", 10000);
        Write(sb, $"{Pkgs}/half-2.0-0.conda.partial", 7000);
        Write(sb, $"{Pkgs}/new-3.0-0.conda", 9000, ageDays: 0);
        Write(sb, $"{Pkgs}/linked-1.0-0.tar.bz2", 9000);
        Write(sb, $"{Pkgs}/cache/repodata_abc.json", 50000);
        Write(sb, $"{Pkgs}/.logs/conda-2026.log", 1000);
        Write(sb, $"{Pkgs}/urls.txt", 100);
        Write(sb, $"{Pkgs}/urls", 100);
        Write(sb, $"{Pkgs}/not-a-package/readme.txt", 100); // no info/: conda leaves it, so do we
        Write(sb, "/data/apps/miniconda3/lib/python3.12/site-packages/old.so.c~", 3000);
        Write(sb, "/data/apps/miniconda3/pkgs-trash/x.trash", 3000);
        Write(sb, "/data/apps/miniconda3/lib/libpython.so", 3000);
        Assert.Equal(0, Tools.Sh($"""
            set -e
            mkdir -p '{sb.P("/data/users/alice/conda/envs/ml/lib")}' '{sb.P("/data/users/bob/envs/py/bin")}'
            ln '{sb.P($"{Pkgs}/torch-2.4.0-py312_0/lib/libtorch-2.4.0-py312_0.so")}' '{sb.P("/data/users/alice/conda/envs/ml/lib/")}'
            ln '{sb.P($"{Pkgs}/python-3.12.4-h0/bin/python-3.12.4-h0")}' '{sb.P("/data/users/bob/envs/py/bin/python")}'
            ln '{sb.P($"{Pkgs}/linked-1.0-0.tar.bz2")}' '{sb.P("/data/users/bob/linked.tar.bz2")}'
            """).ExitCode);
        var before = Tools.Sh($"cd '{sb.P("/data")}' && find . -printf '%p %s %T@\\n' | sort").StdOut;

        var dry = sb.Aica("clean", "--conda", "--dry-run", "--json");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Equal(before, Tools.Sh($"cd '{sb.P("/data")}' && find . -printf '%p %s %T@\\n' | sort").StdOut);

        var r = sb.Aica("clean", "--conda", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var t = Conda(r);
        Assert.Equal("ok", t.GetProperty("status").GetString());
        var removed = t.GetProperty("removed").EnumerateArray().ToDictionary(x => x.GetProperty("path").GetString()!, x => x.GetProperty("reason").GetString()!);
        var want = new Dictionary<string, string>
        {
            [$"{Pkgs}/numpy-1.26.4-py312_0"] = "unused package",
            [$"{Pkgs}/numpy-1.26.4-py312_0.conda"] = "tarball",
            [$"{Pkgs}/old-1.0-0.tar.bz2"] = "tarball",
            [$"{Pkgs}/half-2.0-0.conda.partial"] = "tarball",
            [$"{Pkgs}/cache"] = "index cache",
            [$"{Pkgs}/.logs/conda-2026.log"] = "log file",
            ["/data/apps/miniconda3/lib/python3.12/site-packages/old.so.c~"] = "tempfile",
            ["/data/apps/miniconda3/pkgs-trash/x.trash"] = "tempfile",
        };
        Assert.Equal(want.OrderBy(x => x.Key).Select(x => $"{x.Key} {x.Value}"), removed.OrderBy(x => x.Key).Select(x => $"{x.Key} {x.Value}"));
        foreach (var gone in want.Keys) Assert.False(Path.Exists(sb.P(gone)), gone);
        foreach (var kept in new[] { "torch-2.4.0-py312_0/lib/libtorch-2.4.0-py312_0.so", "python-3.12.4-h0/info/index.json", "zlib-1.3-h0/info/index.json",
                     "new-3.0-0.conda", "linked-1.0-0.tar.bz2", "urls.txt", "urls", "not-a-package/readme.txt", ".logs" })
            Assert.True(Path.Exists(sb.P($"{Pkgs}/{kept}")), kept);
        Assert.True(File.Exists(sb.P("/data/apps/miniconda3/lib/libpython.so")));
        Assert.True(File.Exists(sb.P("/data/users/alice/conda/envs/ml/lib/libtorch-2.4.0-py312_0.so")));
        // Bytes freed: at least the data of what went, and what the dry run announced.
        var freed = t.GetProperty("bytes_freed").GetInt64();
        Assert.True(freed >= 20000 + 30000 + 10000 + 7000 + 50000 + 1000 + 6000, r.StdOut);
        Assert.Equal(freed, Conda(dry).GetProperty("bytes_freed").GetInt64());
        Assert.Contains("kept 3 package(s) or tarball(s) linked into environments, 2 changed recently", string.Join("\n", Strings(t, "notes")));

        // Run again: nothing more to do, nothing changed.
        var again = sb.Aica("clean", "--conda", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Empty(Conda(again).GetProperty("removed").EnumerateArray());
    }

    [Fact]
    public void Older_than_keeps_unused_packages_younger_than_the_cutoff()
    {
        using var sb = Server();
        Package(sb, "a-1-0", ageDays: 40);
        Package(sb, "b-1-0", ageDays: 10);
        Write(sb, $"{Pkgs}/c-1-0.conda", ageDays: 40);
        Write(sb, $"{Pkgs}/d-1-0.conda", ageDays: 10);
        var r = sb.Aica("clean", "--conda", "--older-than", "30");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(Directory.Exists(sb.P($"{Pkgs}/a-1-0")));
        Assert.False(File.Exists(sb.P($"{Pkgs}/c-1-0.conda")));
        Assert.True(Directory.Exists(sb.P($"{Pkgs}/b-1-0/info")));
        Assert.True(File.Exists(sb.P($"{Pkgs}/d-1-0.conda")));
    }

    [Fact]
    public void No_conda_process_is_started_and_conda_need_not_be_installed()
    {
        using var sb = Server();
        Package(sb, "a-1-0");
        var r = sb.Aica("clean", "--conda");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(Directory.Exists(sb.P($"{Pkgs}/a-1-0")));

        // An installed conda (even one members could change) is never run: nothing of it runs as root.
        Package(sb, "b-1-0");
        Directory.CreateDirectory(sb.P("/data/apps/miniconda3/bin"));
        File.WriteAllText(sb.P("/data/apps/miniconda3/bin/conda"), $"#!/bin/sh\ntouch '{sb.P("/run/conda-called")}'\n");
        Assert.Equal(0, Tools.Sh($"chmod 777 '{sb.P("/data/apps/miniconda3/bin/conda")}'").ExitCode);
        r = sb.Aica("clean", "--conda");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(Directory.Exists(sb.P($"{Pkgs}/b-1-0")));
        Assert.False(File.Exists(sb.P("/run/conda-called")), "conda must not have run");
    }

    [Fact]
    public void A_file_a_member_adds_to_a_package_does_not_make_it_removable_when_it_has_several_links()
    {
        // conda's rule, kept: any file with more than one link means an environment (or something else) uses it.
        using var sb = Server();
        Package(sb, "a-1-0");
        Write(sb, "/data/users/bob/weights.bin", 4000);
        Assert.Equal(0, Tools.Sh($"ln '{sb.P("/data/users/bob/weights.bin")}' '{sb.P($"{Pkgs}/a-1-0/lib/weights.bin")}'").ExitCode);
        var r = sb.Aica("clean", "--conda");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(File.Exists(sb.P($"{Pkgs}/a-1-0/lib/weights.bin")));
        Assert.Equal(new byte[4000], File.ReadAllBytes(sb.P("/data/users/bob/weights.bin")));
    }

    [Fact]
    public void The_package_cache_named_in_the_config_is_the_one_cleaned()
    {
        using var sb = Server();
        var toml = sb.P("/data/config/aica.toml");
        var text = File.ReadAllText(toml);
        Assert.Contains($"conda_pkgs = \"{Pkgs}\"", text);
        File.WriteAllText(toml, text.Replace($"conda_pkgs = \"{Pkgs}\"", "conda_pkgs = \"/data/cache/pkgs2\""));
        Package(sb, "a-1-0");
        Assert.Equal(0, Tools.Sh($"mkdir -p '{sb.P("/data/cache/pkgs2")}' && mv '{sb.P($"{Pkgs}/a-1-0")}' '{sb.P("/data/cache/pkgs2/")}'").ExitCode);
        Package(sb, "b-1-0");
        var r = sb.Aica("clean", "--conda", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("/data/cache/pkgs2", Conda(r).GetProperty("path").GetString());
        Assert.False(Directory.Exists(sb.P("/data/cache/pkgs2/a-1-0")));
        Assert.True(Directory.Exists(sb.P($"{Pkgs}/b-1-0/info")), "the default folder is not the configured one: left alone");
    }
}
