using Aica.Engine;
using Aica.Native;

namespace Aica.Accounts;

/// <summary>The accounts' part of one engine run: the service, the account files read once, the writer, login.defs.</summary>
public sealed class AccountRun(EngineContext ctx, AccountService service)
{
    private AccountDb? _db;
    private AccountFileWriter? _files;
    private LoginDefs? _loginDefs;

    public AccountService Service { get; } = service;
    public AccountDb Db => _db ??= Service.Load();
    public AccountFileWriter Files => _files ??= new AccountFileWriter(ctx.Fs, ctx.Runner);
    public LoginDefs LoginDefs => _loginDefs ??= Service.LoginDefs();
    public void Invalidate() => _db = null;
    public void Use(AccountDb db) => _db = db;
}

/// <summary>What items read of the accounts through the engine context (the engine itself knows no accounts).</summary>
public static class AccountContext
{
    extension(EngineContext ctx)
    {
        /// <summary>
        /// Adds the accounts to a context. <paramref name="batch"/> (recover): missing groups and accounts are created
        /// together in one locked write of the account files (<see cref="AccountBatchPass"/>) instead of one
        /// groupadd/useradd each; user add keeps useradd.
        /// </summary>
        public EngineContext WithAccountService(AccountService service, bool batch = false)
        {
            var run = new AccountRun(ctx, service);
            ctx.With(run);
            ctx.UserName = id => run.Db.UserById(id)?.Name;
            ctx.GroupName = id => run.Db.GroupById(id)?.Name;
            if (batch) ctx.FirstPass = new AccountBatchPass(ctx);
            return ctx;
        }

        public AccountService Accounts => ctx.Feature<AccountRun>().Service;
        public AccountDb Db => ctx.Feature<AccountRun>().Db;
        public AccountFileWriter AccountFiles => ctx.Feature<AccountRun>().Files;

        /// <summary>The shadow aging defaults of /etc/login.defs, for accounts created without useradd.</summary>
        public LoginDefs LoginDefs => ctx.Feature<AccountRun>().LoginDefs;

        /// <summary>Called after an account change (or a failed attempt) so later checks, and whoever reads <c>Db</c> after the run, see it.</summary>
        public void InvalidateAccounts() => ctx.Feature<AccountRun>().Invalidate();

        /// <summary>Starts from account files the caller has just read (recover built its state from them): one parse, not two.</summary>
        public EngineContext WithAccounts(AccountDb db)
        {
            ctx.Feature<AccountRun>().Use(db);
            return ctx;
        }
    }
}

/// <summary>
/// Recover's first pass: every missing group and account (in unit order, up to a unit's first conflict) goes into
/// one locked write of the account files: 1000 users after a full reset in milliseconds, not one useradd each.
/// The items then check as present and the main pass skips them; when the write fails, nothing was written and
/// the main pass creates them one by one (and reports what fails).
/// </summary>
public sealed class AccountBatchPass(EngineContext ctx) : IFirstPass
{
    public IEnumerable<AppliedAction> Run(StateEngine engine, DesiredState state, CancellationToken ct)
    {
        var batch = new AccountBatch();
        var members = new List<AppliedAction>();
        foreach (var unit in StateEngine.Ordered(state).TakeWhile(u => u.Phase <= Phase.Accounts))
            foreach (var item in unit.Items)
            {
                if (item is not IAccountLines lines) break;
                var drift = engine.SafeCheck(item);
                if (drift is null) continue;
                if (drift.Conflict || !lines.AddTo(batch, ctx)) break;
                members.Add(new AppliedAction(unit, item, drift, null));
            }
        if (members.Count == 0)
        {
            ctx.AccountFiles.RemoveStaleLocks();
            return [];
        }
        try { ctx.Notes.AddRange(ctx.AccountFiles.Write(batch, ct)); }
        catch (Exception e) when (e is AicaException or SysException or IOException)
        {
            ctx.Notes.Add($"creating {members.Count} groups/accounts in one write failed ({e.Message}); creating them one by one");
            return [];
        }
        finally { ctx.InvalidateAccounts(); }
        return members;
    }
}
