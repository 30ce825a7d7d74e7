using System.Buffers.Binary;
using System.Text;

namespace Aica.Users;

/// <summary>An OpenSSH public key line, parsed before it reaches authorized_keys (SPEC §6.5).</summary>
public sealed partial record PublicKey(string Type, string Base64, string Comment)
{
    private static readonly HashSet<string> Types =
    [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ];

    /// <summary>The line as written to authorized_keys.</summary>
    public string Line => Comment.Length == 0 ? $"{Type} {Base64}" : $"{Type} {Base64} {Comment}";

    /// <summary>Parses the content of a .pub file: exactly one key line. The reason is set when it is not a public key.</summary>
    public static (PublicKey? Key, string? Reason) Parse(string text)
    {
        if (text.Contains("PRIVATE KEY")) return (null, "this is a private key: give the .pub file (the private key never leaves the member's machine)");
        // Blank lines at the end (an editor's extra newline) are harmless; any line break before the end is not.
        var body = text.TrimEnd('\n', '\r');
        if (body.Contains('\n') || body.Contains('\r')) return (null, "a public key file holds exactly one line (embedded newlines found)");
        if (body.Any(c => char.IsControl(c) && c != '\t')) return (null, "control characters in the key line");
        var f = body.Trim().Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 2) return (null, "not an OpenSSH public key (expected: type base64 [comment])");
        // The type is named back only when it looks like one: the file may be a link to someone's secret.
        if (!Types.Contains(f[0]))
            return (null, KeyTypeRx().IsMatch(f[0]) ? $"unsupported key type '{f[0]}' (options before the type are not accepted)"
                : "unsupported key type (the line does not start with one: ssh-ed25519, ssh-rsa, ecdsa-sha2-..., sk-...; options before the type are not accepted)");
        byte[] blob;
        try { blob = Convert.FromBase64String(f[1]); }
        catch (FormatException) { return (null, "the key data is not valid base64"); }
        // The blob starts with the key type as an SSH string: uint32 length, bytes.
        if (blob.Length < 4 + f[0].Length + 4) return (null, "the key data is too short");
        var len = BinaryPrimitives.ReadUInt32BigEndian(blob);
        if (len != f[0].Length || Encoding.ASCII.GetString(blob, 4, (int)len) != f[0])
            return (null, $"the key data does not match its type {f[0]}");
        if (f[0] == "ssh-rsa" && blob.Length < 200) return (null, "RSA key too short (use at least 2048 bits, or ed25519)");
        return (new PublicKey(f[0], f[1], f.Length > 2 ? f[2].Trim() : ""), null);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(ssh|ecdsa|sk)-[a-z0-9@.-]{1,40}$")]
    private static partial System.Text.RegularExpressions.Regex KeyTypeRx();

    /// <summary>Whether an authorized_keys text already holds this key (same type and data, any comment or options).</summary>
    public bool IsIn(string authorizedKeys) =>
        authorizedKeys.Split('\n').Any(l => l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries) is var f &&
            f.Length >= 2 && Array.IndexOf(f, Type) is var i && i >= 0 && i + 1 < f.Length && f[i + 1] == Base64);
}
