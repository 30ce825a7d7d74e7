using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Aica.Accounts;

/// <summary>Fields 2–9 of an /etc/shadow line: hash (a leading ! is the lock), last change, aging, expiry.</summary>
public sealed record ShadowFields(string Password, string LastChange, string Min, string Max, string Warn, string Inactive, string Expire, string Reserved)
{
    /// <summary>What useradd writes for a new account: locked, no password (aging from login.defs).</summary>
    public static ShadowFields NewLocked(long today, LoginDefs defs) =>
        new("!", today.ToString(CultureInfo.InvariantCulture), defs.PassMinDays, defs.PassMaxDays, defs.PassWarnAge, "", "", "");

    public string Render(string name) => $"{name}:{Password}:{LastChange}:{Min}:{Max}:{Warn}:{Inactive}:{Expire}:{Reserved}";

    public static ShadowFields? FromLine(string[] f) =>
        f.Length < 9 ? null : new ShadowFields(f[1], f[2], f[3], f[4], f[5], f[6], f[7], string.Join(':', f[8..]));

    /// <summary>Locked: no usable password (a <c>!</c> prefix, <c>*</c>, or empty is not locked but "no password"; only ! and * count here).</summary>
    public bool Locked => Password.StartsWith('!') || Password == "*";
}

/// <summary>A registered user's account state as captured: what a full reset would lose.</summary>
public sealed record StoredUser(string Name, int Uid, string Gecos, string Shell, IReadOnlyList<string> Groups, ShadowFields Shadow);

/// <summary>One of the lab's own groups (a non-system group that is not a user's private group): name, gid, members.</summary>
public sealed record StoredGroup(string Name, int Gid, IReadOnlyList<string> Members);

/// <summary>
/// The account state kept on /data (issue 11 point 3): password hashes, lock state, aging, shell, GECOS and
/// supplementary groups of registered users, and the lab's own groups with their gids. One line per record,
/// colon-separated like the files it comes from, closed by a trailer with the record count and a checksum so a
/// truncated or corrupt file is refused as a whole (never used in part). Text is handled as Latin-1 so every
/// byte of a GECOS or a hash round-trips unchanged.
/// </summary>
public sealed partial class AccountState
{
    public const string Header = "aica-accounts 1";
    private const string Preamble =
        "# aica account state: password hashes, lock state, aging, shell, GECOS and group memberships of the registered\n" +
        "# users, and the lab's own groups. Root-only. Written by aica (accounts capture, user add/remove, recover),\n" +
        "# restored by aica recover after a full reset. Do not edit: a changed line fails the checksum and the file is refused.\n";

    public IReadOnlyList<StoredUser> Users { get; }
    public IReadOnlyList<StoredGroup> Groups { get; }
    private readonly Dictionary<string, StoredUser> _byName;

    public AccountState(IEnumerable<StoredUser> users, IEnumerable<StoredGroup> groups)
    {
        Users = users.OrderBy(u => u.Name, StringComparer.Ordinal).ToList();
        Groups = groups.OrderBy(g => g.Name, StringComparer.Ordinal).ToList();
        _byName = Users.ToDictionary(u => u.Name);
    }

    public StoredUser? User(string name) => _byName.GetValueOrDefault(name);

    public static readonly AccountState Empty = new([], []);

    // Looser than Names: system groups (Debian-exim, _ssh) and shadow-utils' trailing $ for machine accounts.
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?\z")]
    private static partial Regex AccountName();

    [GeneratedRegex(@"^-?[0-9]{0,12}\z")]
    private static partial Regex ShadowNumber();

    public static bool ValidName(string s) => AccountName().IsMatch(s);

    /// <summary>A field that can go into an account file line unchanged: no separator, no control character.</summary>
    public static bool ValidText(string s, int max = 1024) => s.Length <= max && !s.Any(c => c == ':' || c < ' ' || c == '\x7f');

    public static string? Problem(StoredUser u)
    {
        if (!ValidName(u.Name)) return $"invalid user name '{Config.Names.Printable(u.Name)}'";
        if (u.Uid < 0) return $"{u.Name}: invalid uid";
        if (!ValidText(u.Gecos)) return $"{u.Name}: invalid GECOS";
        if (!u.Shell.StartsWith('/') || !ValidText(u.Shell, 256)) return $"{u.Name}: invalid shell";
        if (u.Groups.Any(g => !ValidName(g))) return $"{u.Name}: invalid group name";
        var s = u.Shadow;
        if (!ValidText(s.Password)) return $"{u.Name}: invalid password field";
        if (new[] { s.LastChange, s.Min, s.Max, s.Warn, s.Inactive, s.Expire }.Any(n => !ShadowNumber().IsMatch(n))) return $"{u.Name}: invalid aging field";
        if (!ValidText(s.Reserved, 64)) return $"{u.Name}: invalid reserved field";
        return null;
    }

    public static string? Problem(StoredGroup g)
    {
        if (!ValidName(g.Name)) return $"invalid group name '{Config.Names.Printable(g.Name)}'";
        if (g.Gid < 0) return $"{g.Name}: invalid gid";
        return g.Members.Any(m => !ValidName(m)) ? $"{g.Name}: invalid member name" : null;
    }

    public byte[] Render()
    {
        var sb = new StringBuilder(Preamble).Append(Header).Append('\n');
        foreach (var u in Users)
            sb.Append("user:").Append(u.Name).Append(':').Append(u.Uid.ToString(CultureInfo.InvariantCulture)).Append(':').Append(u.Gecos).Append(':')
              .Append(u.Shell).Append(':').Append(string.Join(',', u.Groups)).Append(':').Append(u.Shadow.Render(u.Name)[(u.Name.Length + 1)..]).Append('\n');
        foreach (var g in Groups)
            sb.Append("group:").Append(g.Name).Append(':').Append(g.Gid.ToString(CultureInfo.InvariantCulture)).Append(':').Append(string.Join(',', g.Members)).Append('\n');
        var body = Encoding.Latin1.GetBytes(sb.ToString());
        var trailer = Encoding.Latin1.GetBytes($"end:{Users.Count + Groups.Count}:{Checksum(body):x16}\n");
        return [.. body, .. trailer];
    }

    /// <summary>FNV-1a 64 over the body: catches truncation and corruption (the file is root-only; it is not a signature).</summary>
    public static ulong Checksum(ReadOnlySpan<byte> data)
    {
        var h = 0xcbf29ce484222325UL;
        foreach (var b in data) { h ^= b; h *= 0x100000001b3UL; }
        return h;
    }

    /// <summary>The state, or the reason the whole file is refused (truncated, corrupt, a bad record).</summary>
    public static (AccountState? State, string? Problem) Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return (null, "empty (truncated)");
        if (bytes[^1] != (byte)'\n') return (null, "truncated (no final newline)");
        var lastStart = bytes[..^1].LastIndexOf((byte)'\n') + 1;
        var body = bytes[..lastStart];
        var trailer = Encoding.Latin1.GetString(bytes[lastStart..^1]).Split(':');
        if (trailer.Length != 3 || trailer[0] != "end") return (null, "truncated (no end line)");
        if (!ulong.TryParse(trailer[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sum) || sum != Checksum(body))
            return (null, "corrupt (checksum mismatch)");
        var users = new List<StoredUser>();
        var groups = new List<StoredGroup>();
        var seenHeader = false;
        var lineNo = 0;
        foreach (var line in Encoding.Latin1.GetString(body).Split('\n'))
        {
            lineNo++;
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (!seenHeader)
            {
                if (line != Header) return (null, $"line {lineNo}: unknown format '{Config.Names.Printable(line[..Math.Min(line.Length, 40)])}'");
                seenHeader = true;
                continue;
            }
            var f = line.Split(':');
            string? problem;
            if (f[0] == "user" && f.Length == 14 && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                var u = new StoredUser(f[1], uid, f[3], f[4], f[5].Split(',', StringSplitOptions.RemoveEmptyEntries), new ShadowFields(f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13]));
                problem = Problem(u);
                users.Add(u);
            }
            else if (f[0] == "group" && f.Length == 4 && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
            {
                var g = new StoredGroup(f[1], gid, f[3].Split(',', StringSplitOptions.RemoveEmptyEntries));
                problem = Problem(g);
                groups.Add(g);
            }
            else problem = "not a user or group record";
            if (problem is not null) return (null, $"line {lineNo}: {problem}");
        }
        if (!seenHeader) return (null, "no header");
        if (users.Count + groups.Count != int.Parse(trailer[1], NumberStyles.None, CultureInfo.InvariantCulture))
            return (null, "corrupt (record count mismatch)");
        if (users.GroupBy(u => u.Name).Any(x => x.Count() > 1) || groups.GroupBy(g => g.Name).Any(x => x.Count() > 1))
            return (null, "duplicate records");
        return (new AccountState(users, groups), null);
    }
}

/// <summary>The shadow defaults useradd takes from /etc/login.defs.</summary>
public sealed record LoginDefs(string PassMinDays = "0", string PassMaxDays = "99999", string PassWarnAge = "7")
{
    public static LoginDefs Parse(string? text)
    {
        var d = new LoginDefs();
        foreach (var raw in (text ?? "").Split('\n'))
        {
            var f = raw.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !long.TryParse(f[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) continue;
            d = f[0] switch
            {
                "PASS_MIN_DAYS" => d with { PassMinDays = f[1] },
                "PASS_MAX_DAYS" => d with { PassMaxDays = f[1] },
                "PASS_WARN_AGE" => d with { PassWarnAge = f[1] },
                _ => d,
            };
        }
        return d;
    }
}
