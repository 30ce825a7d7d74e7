using System.Text.Json;
using Aica.Cli;
using Aica.Cli.Commands;
using Aica.Services;
using Aica.Site;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>The command-line contract of issue 13: usage errors, help, short options, streams, --json failures, terminal modes.</summary>
[Collection("cli")]
public sealed class CliContractSpecs
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Integration.InProcess.Run(args);

    [Trait("level", "inproc")]
    [Theory]
    [InlineData("user", "add")]
    [InlineData("user", "remove")]
    [InlineData("user", "fix")]
    [InlineData("user", "migrate")]
    public void A_missing_required_argument_is_exit_2_with_one_line_and_the_usage_on_stderr(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n');
        Assert.Equal($"aica {string.Join(' ', args)}: missing argument USER", lines[0]);
        Assert.StartsWith($"Usage: aica {string.Join(' ', args)} USER [options]", lines[1]);

        var json = Run(["--json", .. args]);
        Assert.Equal(2, json.Code);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(2, doc.RootElement.GetProperty("exit_code").GetInt32());
        Assert.Contains("missing argument USER", doc.RootElement.GetProperty("error").GetString());
    }

    public static TheoryData<string> Commands() => [.. AicaApp.Table.Select(c => c.Name)];

    [Trait("level", "inproc")]
    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_names_aica_shows_no_csharp_types_and_lists_the_global_options(string command)
    {
        var (code, stdout, _) = Run([.. command.Split(' '), "--help"]);
        Assert.Equal(0, code);
        var info = AicaApp.Table.Single(c => c.Name == command);
        Assert.StartsWith($"Usage: aica {(command + " " + info.Args).TrimEnd()} [options]\n", stdout);
        foreach (var leak in new[] { "<string", "<int", "<bool", "[Default: null]", "[Default: False]", "[0]", "[-h|--help]" })
            Assert.DoesNotContain(leak, stdout);
        Assert.Contains("Global options (any position):", stdout);
        Assert.Contains("--root DIR", stdout);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void Top_level_help_gives_each_command_one_line_with_its_description()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var c in AicaApp.Table)
            Assert.Single(stdout.Split('\n'), l => l.StartsWith($"  {c.Name} ", StringComparison.Ordinal) && l.EndsWith(c.Description, StringComparison.Ordinal));
        Assert.Contains("Global options (any position):", stdout);
        Assert.Contains("Exit codes:", stdout);
    }

    [Trait("level", "inproc")]
    [Theory]
    [InlineData("doctr", "did you mean 'aica doctor'?")]
    [InlineData("recvoer", "did you mean 'aica recover'?")]
    [InlineData("usr", "did you mean 'aica user'?")]
    [InlineData("user ad", "did you mean 'aica user add'?")]
    [InlineData("data verfy", "did you mean 'aica data verify'?")]
    public void A_near_miss_command_gets_a_suggestion(string typed, string hint)
    {
        var (code, stdout, stderr) = Run(typed.Split(' '));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(hint, stderr.Split('\n')[0]);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void A_far_miss_gets_no_suggestion()
    {
        var (code, _, stderr) = Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Equal("aica: unknown command 'frobnicate'", stderr.Split('\n')[0]);
    }

    [Trait("level", "unit")]
    [Theory]
    [InlineData("doctor", "docter", 1)]
    [InlineData("recover", "recvoer", 1)] // a swap of neighbours is one edit
    [InlineData("user", "usr", 1)]
    [InlineData("clean", "disk", 5)]
    public void Edit_distance_counts_single_edits(string a, string b, int d) => Assert.Equal(d, AicaApp.EditDistance(a, b));

    /// <summary>The same short option means the same long one in every command (README: "Short options").</summary>
    [Trait("level", "inproc")]
    [Fact]
    public void Short_options_are_the_same_everywhere()
    {
        var shorts = new Dictionary<string, string> { ["--user"] = "-u", ["--yes"] = "-y", ["--group"] = "-g", ["--dry-run"] = "-n", ["--quiet"] = "-q", ["--verbose"] = "-v", ["--help"] = "-h" };
        var wrong = new List<string>();
        foreach (var c in AicaApp.Table)
        {
            var help = Run([.. c.Name.Split(' '), "--help"]).Out.Split('\n');
            foreach (var line in help.Where(l => l.StartsWith("  -", StringComparison.Ordinal) || l.StartsWith("      --", StringComparison.Ordinal)))
            {
                var flags = line.Trim().Split("  ")[0];
                foreach (var (lng, sh) in shorts)
                    if ((flags.Split(' ').Contains(lng) || flags.Contains(lng + " ")) && !flags.StartsWith($"{sh}, {lng}", StringComparison.Ordinal)) wrong.Add($"{c.Name}: {flags}");
                if (flags.StartsWith('-') && !flags.StartsWith("--", StringComparison.Ordinal))
                {
                    var (sh2, lng2) = (flags[..2], flags[4..].Split(' ')[0]);
                    if (!shorts.TryGetValue(lng2, out var want) || want != sh2) wrong.Add($"{c.Name}: {flags} (not in the table of short options)");
                }
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        // A short option works, not only shows: -n parses as --dry-run, -u as --user.
        Assert.DoesNotContain("not recognized", Run("--root", "/nonexistent-aica", "user", "fix", "-n", "alice").Err);
        Assert.DoesNotContain("not recognized", Run("--root", "/nonexistent-aica", "clean", "--pip", "-u", "alice", "-n").Err);
        Assert.Contains("not recognized", Run("--root", "/nonexistent-aica", "user", "fix", "-z", "alice").Err); // the check can fail
    }

    [Trait("level", "inproc")]
    [Theory]
    [InlineData("frobnicate")]
    [InlineData("recover", "--frobnicate")]
    [InlineData("user", "frob")]
    [InlineData("user", "fix")]
    [InlineData("install", "uv")] // no --from: an AicaException inside the command
    [InlineData("du", "--top", "x")]
    public void Every_json_failure_is_one_json_document_with_error_and_exit_code(params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("aica-json-").FullName;
        try
        {
            var (code, stdout, stderr) = Run(["--json", "--root", dir, .. args]);
            Assert.NotEqual(0, code);
            using var doc = JsonDocument.Parse(stdout); // exactly one document: Parse rejects trailing content
            Assert.Equal(code, doc.RootElement.GetProperty("exit_code").GetInt32());
            Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("error").GetString()));
            Assert.Contains(doc.RootElement.GetProperty("error").GetString()!, stderr); // the same line for a person
        }
        finally { Directory.Delete(dir, true); }
    }

    [Trait("level", "unit")]
    [Fact]
    public void Fail_and_warn_lines_go_to_stderr_details_and_summary_to_stdout()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var output = new Output(o, new GlobalOptions(), e);
        output.Line("DONE", "a change");
        output.Problem("FAIL", "it broke");
        output.Problem("WARN", "odd");
        output.Problem("HINT", "try this");
        output.Summary("x: 1 change, 1 failed");
        Assert.Equal("[DONE] a change\n[HINT] try this\nx: 1 change, 1 failed\n", o.ToString());
        Assert.Equal("[FAIL] it broke\n[WARN] odd\n", e.ToString());
    }

    [Trait("level", "unit")]
    [Theory]
    [InlineData("tree.dir:/data/users", "tree")]
    [InlineData("user.rc:/home/alice/.bash_profile", "user")]
    [InlineData("users.hf-token", "users")]
    [InlineData("gpu", "gpu")]
    public void Doctor_groups_checks_by_the_prefix_of_their_id(string id, string area) => Assert.Equal(area, DoctorReport.Area(id));

    [Trait("level", "unit")]
    [Fact]
    public void Recover_summary_counts_problems_that_are_no_users()
    {
        var r = new RecoveryReport("failed", 4, 0, [], [], ["users.txt line 3: bad", "users.txt line 4: bad", "users.txt line 5: bad"], [], 1, false);
        Assert.Equal("recovered 4 users, 0 failed, 3 other problems", r.Summary);
        Assert.Equal("recovered 2 users, 0 failed", new RecoveryReport("ok", 2, 0, [], [], [], [], 1, false).Summary);
    }
}

/// <summary>What a terminal sees: no mode left switched on, colour only where wanted (black-box under script(1)).</summary>
[Trait("level", "blackbox")]
public sealed class TerminalModeSpecs
{
    private static string OnTerminal(string command, string term, bool noColor = false)
    {
        var env = new Dictionary<string, string> { ["TERM"] = term };
        var r = Tools.Run("/usr/bin/env", [.. noColor ? new[] { "NO_COLOR=1" } : [], "script", "-qec", command, "/dev/null"], env);
        return r.StdOut + r.StdErr;
    }

    [Fact]
    public void A_run_on_a_terminal_leaves_no_keypad_mode_behind()
    {
        foreach (var args in new[] { "--version", "--help", "frobnicate", "user add" })
        {
            var seen = OnTerminal($"'{Tools.AicaBin}' {args}", "xterm");
            Assert.True(seen.Length > 0, args);
            Assert.DoesNotContain("\e[?1h", seen);
            Assert.DoesNotContain("\e=", seen);
        }
    }

    [Fact]
    public void The_menu_resets_the_keypad_mode_that_reading_keys_sets()
    {
        var dir = Directory.CreateTempSubdirectory("aica-menu-").FullName;
        try
        {
            var r = Tools.Run("/usr/bin/env", ["TERM=xterm", "script", "-qec", $"'{Tools.AicaBin}' --root '{dir}'", "/dev/null"], stdin: "q", timeoutSeconds: 60);
            var set = r.StdOut.LastIndexOf("\e[?1h", StringComparison.Ordinal);
            Assert.True(set >= 0, r.ToString()); // .NET's console layer did switch it on: the check below can fail
            Assert.True(r.StdOut.IndexOf("\e[?1l\e>", set, StringComparison.Ordinal) > set, r.ToString());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Colour_only_on_a_terminal_with_a_capable_TERM_and_no_NO_COLOR()
    {
        using var sb = Sandbox.Initialised();
        var cmd = $"'{Tools.AicaBin}' --root '{sb.Root}' doctor -v";
        Assert.Contains("\e[32m[PASS]", OnTerminal(cmd, "xterm")); // the check can fail: colour does appear
        Assert.DoesNotContain("\e[", OnTerminal(cmd, "dumb"));
        Assert.DoesNotContain("\e[", OnTerminal(cmd, "xterm", noColor: true));
        Assert.DoesNotContain("\e[", sb.Aica("doctor", "-v").StdOut); // not a terminal
    }
}
