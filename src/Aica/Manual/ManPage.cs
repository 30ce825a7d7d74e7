using System.Text;

namespace Aica.Cli.Manual;

/// <summary>
/// aica(8) in man(7) roff, generated from <see cref="CommandDocs"/>: every command of the table with its arguments
/// and options, the global options, exit status and files. No date in it: recover rewrites a file only when its
/// bytes change, so the page of one version is the same at every boot.
/// </summary>
public static class ManPage
{
    public static string Render(IReadOnlyList<CommandDoc> commands)
    {
        var sb = new StringBuilder();
        void L(string line) => sb.Append(line).Append('\n');
        L($".TH AICA 8 \"\" \"aica {Esc(AicaApp.Version)}\" \"System Administration\"");
        L(".SH NAME");
        L(@"aica \- keep a multi\-user GPU server usable across reboots");
        L(".SH SYNOPSIS");
        L(@".B aica");
        L(@"[\fIglobal options\fR] \fIcommand\fR [\fIarguments\fR] [\fIoptions\fR]");
        L(".br");
        L(@".B aica");
        L(@"(no arguments: the interactive menu, on a terminal)");
        L(".SH DESCRIPTION");
        Text(sb, "aica keeps a GPU server whose root SSD is reset at boot usable for its members. All persistent truth lives on " +
                 "the disk mounted at /data (config, user registry, user data, shared caches); accounts, homes, links, /etc files, " +
                 "the systemd unit and cron are derived from it and rebuilt by aica recover at boot, before anyone can log in.");
        L(".PP");
        Text(sb, "With no arguments on a terminal, aica opens a menu (admin mode as root, member mode otherwise) that runs the " +
                 "same commands. aica COMMAND --help shows the same text as this page for one command.");
        L(".SH COMMANDS");
        foreach (var c in commands)
        {
            L(".TP");
            var synopsis = new StringBuilder($@"\fBaica {Esc(c.Info.Name)}\fR");
            foreach (var a in c.Arguments) synopsis.Append(a.Required ? $@" \fI{Esc(a.Name)}\fR" : $@" [\fI{Esc(a.Name)}\fR{(a.Many ? "..." : "")}]");
            if (c.Options.Count > 0) synopsis.Append(" [options]");
            L(synopsis.ToString());
            Text(sb, c.Summary);
            if (c.Arguments.Any(a => a.Text.Length > 0) || c.Options.Count > 0)
            {
                L(".RS");
                foreach (var a in c.Arguments.Where(a => a.Text.Length > 0)) { L(".TP"); L($@"\fI{Esc(a.Name)}\fR"); Text(sb, a.Text); }
                foreach (var o in c.Options) Option(sb, o);
                L(".RE");
            }
        }
        L(".SH GLOBAL OPTIONS");
        Text(sb, "Accepted in any position of the command line.");
        foreach (var o in CommandDocs.GlobalOptions) Option(sb, o);
        L(".SH EXIT STATUS");
        foreach (var (code, text) in new[]
        {
            ("0", "Success, or nothing to do."),
            ("1", "Finished, but something failed (doctor: a check failed)."),
            ("2", "Usage or input error; nothing changed."),
            ("3", "Refused for safety (for example /data is not a mounted file system); nothing changed."),
            ("4", "Another aica holds the lock (after --wait)."),
            ("130", "Interrupted."),
        })
        { L(".TP"); L($@"\fB{code}\fR"); Text(sb, text); }
        L(".SH ENVIRONMENT");
        L(".TP"); L(@"\fBAICA_ROOT\fR"); Text(sb, "The same as --root DIR.");
        L(".TP"); L(@"\fBNO_COLOR\fR, \fBTERM\fR"); Text(sb, "Colour only on a terminal, with NO_COLOR unset or empty and TERM set and not dumb.");
        L(".TP"); L(@"\fBPAGER\fR"); Text(sb, "The menu shows long output through it (else less -FRX, else it prints).");
        L(".SH FILES");
        foreach (var (path, text) in new[]
        {
            ("/data/config/aica.toml", "The configuration (check an edit with aica config check)."),
            ("/data/config/users.txt", "The user registry: name:group:uid:gid:shell:layout."),
            ("/data/admin/accounts/accounts.state", "Password hashes, locks and groups of the registered users, for a full reset."),
            ("/data/admin/log/aica.log", "One line per change, on the persistent disk."),
            ("/run/aica/recovery.json", "The result of the last recovery."),
            ("/etc/systemd/system/aica-recovery.service", "Runs aica recover at boot, before logins."),
        })
        { L(".TP"); L($@"\fI{Esc(path)}\fR"); Text(sb, text); }
        L(".SH SEE ALSO");
        L(@"The admin guide and command reference in the docs/ folder of the aica sources (docs/README.md).");
        return sb.ToString();
    }

    private static void Option(StringBuilder sb, OptionDoc o)
    {
        sb.Append(".TP\n");
        var names = string.Join(", ", o.Names.Select(n => $@"\fB{Esc(n)}\fR"));
        sb.Append(o.Value is null ? names : $@"{names} \fI{Esc(o.Value)}\fR").Append('\n');
        Text(sb, o.Text);
    }

    /// <summary>A paragraph of plain text: escaped, and never a line that roff would read as a request.</summary>
    private static void Text(StringBuilder sb, string text)
    {
        var line = Esc(text.Trim());
        if (line.StartsWith('.') || line.StartsWith('\'')) line = @"\&" + line;
        sb.Append(line).Append('\n');
    }

    /// <summary>
    /// Backslashes and hyphens as roff wants them (a bare '-' may be typeset as a hyphen, not a minus), anything beyond
    /// ASCII as a \[uXXXX] escape so troff reads it whatever the input encoding.
    /// </summary>
    public static string Esc(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var r in s.Replace(@"\", @"\e").Replace("-", @"\-").EnumerateRunes())
            sb.Append(r.Value < 128 ? r.ToString() : $@"\[u{r.Value:X4}]");
        return sb.ToString();
    }
}
