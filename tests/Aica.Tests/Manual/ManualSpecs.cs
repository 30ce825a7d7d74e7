using System.Text.RegularExpressions;
using Aica.Cli;
using Aica.Cli.Manual;
using Aica.Tests.Infra;
using Aica.Tests.Integration;

namespace Aica.Tests.Manual;

/// <summary>
/// aica(8) and the bash/zsh completions, generated from the command table and each command's help: every command
/// and its options in all three, the page clean for groff and man, the completions driven by the real shells.
/// </summary>
[Collection("cli")]
public sealed class ManualSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aica-manual-").FullName;

    public void Dispose() => Tools.Sh($"rm -rf --one-file-system '{_dir}'");

    private static string Print(params string[] args)
    {
        var (code, stdout, stderr) = InProcess.Run(args);
        Assert.True(code == 0, $"aica {string.Join(' ', args)}: exit {code}\n{stderr}");
        return stdout;
    }

    [Trait("level", "inproc")]
    [Fact]
    public void Every_command_of_the_table_and_its_options_are_in_the_man_page_and_both_completions()
    {
        var man = Print("manpage");
        var bash = Print("completion", "bash");
        var zsh = Print("completion", "zsh");
        foreach (var c in AicaApp.Table)
        {
            Assert.Contains($@"\fBaica {ManPage.Esc(c.Name)}\fR", man);
            var words = c.Name.Split(' ');
            Assert.Contains($"'{c.Name}') opts=", bash);
            Assert.Contains($"_aica_cmd_{c.Name.Replace(' ', '_')}() {{", zsh);
            Assert.Contains(words.Length == 1 ? $"        {c.Name}) _aica_cmd_" : $"              {words[1]}) _aica_cmd_", zsh);
        }
        // The options come from each command's own help: one that help shows must be in all three.
        foreach (var option in new[] { "--pubkey-file", "--older-than", "--by-user", "--rollback", "--image" })
        {
            Assert.Contains(ManPage.Esc(option), man);
            Assert.Contains(option, bash);
            Assert.Contains($"'{option}[", zsh);
        }
        Assert.Contains("'(-n --dry-run)'{-n,--dry-run}'[", zsh);
        Assert.Contains(@"\fB\-g\fR, \fB\-\-group\fR \fIGROUP\fR", man);
        Assert.Contains(@".SH GLOBAL OPTIONS", man);
        Assert.Contains(@"\fB\-\-wait\fR \fISECONDS\fR", man);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void The_docs_of_a_command_are_parsed_from_its_help()
    {
        var help = """
            Usage: aica user add USER [options]

            Create an account.

            Arguments:
              USER    User name.

            Options:
              -g, --group GROUP         The shared group.
                  --uid N               uid for a new account.
                  --force               Even then.

            Global options (any position):
              --json            JSON
            """;
        var doc = CommandDocs.Parse(new CommandInfo("user add", "USER", "Create"), help);
        Assert.Equal("Create an account.", doc.Summary);
        Assert.Equal(new ArgumentDoc("USER", true, false, "User name."), doc.Arguments.Single());
        Assert.Equal([new OptionDoc("-g", "--group", "GROUP", "The shared group."), new OptionDoc(null, "--uid", "N", "uid for a new account."),
            new OptionDoc(null, "--force", null, "Even then.")], doc.Options);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void An_unknown_shell_is_a_usage_error()
    {
        var (code, _, err) = InProcess.Run("completion", "fish");
        Assert.Equal(2, code);
        Assert.Contains("bash or zsh", err);
        Assert.Equal(2, InProcess.Run("completion").Code); // the shell is required
    }

    private string WriteTemp(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void The_man_page_has_no_groff_or_man_warnings()
    {
        var r = Tools.Aica("manpage");
        Assert.True(r.ExitCode == 0, r.ToString());
        var page = WriteTemp("aica.8", r.StdOut);
        var groff = Tools.Run("groff", ["-z", "-wall", "-man", page]);
        Assert.True(groff.ExitCode == 0 && groff.StdErr == "", groff.ToString());
        var man = Tools.Run("man", ["--warnings", "-l", page], new Dictionary<string, string> { ["MANWIDTH"] = "80", ["MAN_KEEP_FORMATTING"] = "0" });
        Assert.True(man.ExitCode == 0 && man.StdErr == "", man.ToString());
        Assert.Contains("aica user add USER", Regex.Replace(man.StdOut, ".\b", ""));
    }

    /// <summary>The bash function driven as bash calls it: COMP_WORDS/COMP_CWORD in, COMPREPLY out.</summary>
    private static string Complete(string file, string words, string? registry = null)
    {
        var list = words.Split(' ');
        var script = $"source '{file}'; COMP_WORDS=({string.Join(' ', list.Select(w => $"'{w}'"))}); COMP_CWORD={list.Length - 1}; _aica; echo \"${{COMPREPLY[*]}}\"";
        var r = Tools.Run("bash", ["--norc", "-c", script]);
        Assert.True(r.ExitCode == 0 && r.StdErr == "", r.ToString());
        return r.StdOut.Trim();
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Bash_completion_completes_commands_subcommands_options_and_values()
    {
        var file = WriteTemp("aica", Tools.Aica("completion", "bash").StdOut);
        Assert.Equal("user", Complete(file, "aica us"));
        Assert.Equal("add", Complete(file, "aica user a"));
        Assert.Equal("list fix orphans mirror verify report", Complete(file, "aica data "));
        Assert.Equal("--pubkey-file", Complete(file, "aica user add bob --pub"));
        Assert.Equal("--older-than", Complete(file, "aica clean --old"));
        Assert.Equal("doctor data disk du", Complete(file, "aica --root /srv d"));
        Assert.Equal("doctor data disk du", Complete(file, "aica -q d"));
        Assert.Contains("--json", Complete(file, "aica recover --j"));
        Assert.Equal("", Complete(file, "aica clean --older-than "));
        var dir = Path.GetDirectoryName(file)!;
        Assert.Equal(file, Complete(file, $"aica config check {dir}/a"));
        Assert.Equal(file, Complete(file, $"aica user add bob --pubkey-file {dir}/a"));
        Assert.Equal(Path.GetDirectoryName(dir), Complete(file, $"aica --root {Path.GetDirectoryName(dir)}"));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Zsh_completion_loads_sourced_and_from_fpath()
    {
        var file = WriteTemp("_aica", Tools.Aica("completion", "zsh").StdOut);
        var sourced = Tools.Run("zsh", ["-fc", $"autoload -U compinit; compinit -u -D; source '{file}'; print -r -- $_comps[aica]"]);
        Assert.True(sourced.ExitCode == 0 && sourced.StdErr == "", sourced.ToString());
        Assert.Equal("_aica", sourced.StdOut.Trim());
        var fpath = Tools.Run("zsh", ["-fc", $"fpath=('{Path.GetDirectoryName(file)}' $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[aica]"]);
        Assert.True(fpath.ExitCode == 0 && fpath.StdErr == "", fpath.ToString());
        Assert.Equal("_aica", fpath.StdOut.Trim());
        var parsed = Tools.Run("zsh", ["-n", file]);
        Assert.True(parsed.ExitCode == 0, parsed.ToString());
    }

    private static readonly string[] Installed = [ManualFiles.ManPath, Completions.BashPath, Completions.ZshPath];

    [Trait("level", "blackbox")]
    [Fact]
    public void Init_installs_them_doctor_checks_them_and_recover_rebuilds_them()
    {
        Require.Root();
        using var sb = new Sandbox();
        // Installed only where man, bash-completion and zsh are: none of them in the sandbox at first.
        sb.Init();
        foreach (var p in Installed) Assert.False(File.Exists(sb.P(p)), $"{p} installed without the program that reads it");
        foreach (var d in new[] { "/usr/local/share/man", "/usr/share/bash-completion", "/usr/share/zsh" }) Directory.CreateDirectory(sb.P(d));
        Assert.Equal(0, sb.Aica("init", "-q").ExitCode);
        Assert.Equal(Tools.Aica("manpage").StdOut, File.ReadAllText(sb.P(ManualFiles.ManPath)));
        Assert.Equal(Tools.Aica("completion", "bash").StdOut, File.ReadAllText(sb.P(Completions.BashPath)));
        Assert.Equal(Tools.Aica("completion", "zsh").StdOut, File.ReadAllText(sb.P(Completions.ZshPath)));
        foreach (var p in Installed) Assert.Equal("root:root 644 regular file", sb.Stat(p));

        // A full reset returns /usr to the image: doctor says so, recover writes them again, a second recover nothing.
        foreach (var p in Installed) File.Delete(sb.P(p));
        var doctor = sb.Aica("doctor", "-v");
        foreach (var id in new[] { "manual.page", "manual.bash", "manual.zsh" }) Assert.Matches($@"\[(FAIL|WARN)\] +{Regex.Escape(id)}", doctor.All);
        var recover = sb.Aica("recover");
        Assert.True(recover.ExitCode == 0, recover.ToString());
        foreach (var p in Installed) Assert.True(File.Exists(sb.P(p)), p);
        Assert.Equal(Tools.Aica("manpage").StdOut, File.ReadAllText(sb.P(ManualFiles.ManPath)));
        var again = sb.Aica("recover");
        Assert.DoesNotContain("aica.8", again.All);
        Assert.Matches(@"\[PASS\] +manual\.page", sb.Aica("doctor", "-v").All);
    }
}
