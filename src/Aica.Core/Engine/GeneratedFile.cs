namespace Aica.Engine;

/// <summary>
/// A file the executable generates about itself (the man page, the shell completions): root:root 0644 at
/// <paramref name="Path"/>, checked under <paramref name="Id"/>. Derived state like the /etc files.
/// </summary>
public sealed record GeneratedFile(string Path, string Content, string Id);
