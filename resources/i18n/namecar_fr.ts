<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR">
<context>
    <name>AdjudicationView</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/adjudication.py" line="+55"/>
        <source>Timepoint</source>
        <translation>Évaluation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sum (mm)</source>
        <translation>Somme (mm)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Change</source>
        <translation>Variation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Target</source>
        <translation>Cibles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-target</source>
        <translation>Non cibles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New</source>
        <translation>Nouvelles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overall</source>
        <translation>Globale</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Case signed.</source>
        <translation>Dossier signé.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Waiting for the second reader.</source>
        <translation>En attente du second lecteur.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Both reads agree: case signed.</source>
        <translation>Les deux lectures concordent&#xa0;: dossier signé.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The reads differ: the case goes to adjudication.</source>
        <translation>Les lectures divergent&#xa0;: le dossier part en adjudication.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The reads differ: the case needs adjudication, but no adjudicator other than the readers exists; an administrator must assign one.</source>
        <translation>Les lectures divergent&#xa0;: le dossier doit être adjugé, mais il n&apos;existe aucun adjudicateur autre que les lecteurs&#xa0;; un administrateur doit en désigner un.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The reads differ: the case goes to adjudication ({user}).</source>
        <translation>Les lectures divergent&#xa0;: le dossier part en adjudication ({user}).</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>baseline</source>
        <translation>référence</translation>
    </message>
    <message>
        <location line="+102"/>
        <source>Adjudication - {subject} {timepoint}</source>
        <translation>Adjudication - {subject} {timepoint}</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>&lt;b&gt;The reads differ:&lt;/b&gt; </source>
        <translation>&lt;b&gt;Les lectures divergent&#xa0;:&lt;/b&gt; </translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&lt;b&gt;The reads agree&lt;/b&gt; on every overall response and the PD date.</source>
        <translation>&lt;b&gt;Les lectures concordent&lt;/b&gt; sur chaque réponse globale et sur la date de progression.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Read A</source>
        <translation>Lecture A</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Read B</source>
        <translation>Lecture B</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Read A ({reader})</source>
        <translation>Lecture A ({reader})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Read B ({reader})</source>
        <translation>Lecture B ({reader})</translation>
    </message>
    <message>
        <location line="+12"/>
        <location line="+1"/>
        <source>Choose {read}</source>
        <translation>Choisir {read}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Reason for the choice (required)</source>
        <translation>Motif du choix (obligatoire)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Adjudicate</source>
        <translation>Adjuger</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Already adjudicated: read {which} ({reason}).</source>
        <translation>Déjà adjugé&#xa0;: lecture {which} ({reason}).</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Choose one of the two reads.</source>
        <translation>Choisissez l&apos;une des deux lectures.</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Adjudicated: the chosen read is the case&apos;s result.</source>
        <translation>Adjugé&#xa0;: la lecture choisie est le résultat du dossier.</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>No case awaits your adjudication.</source>
        <translation>Aucun dossier n&apos;attend votre adjudication.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{user} is not an adjudicator.</source>
        <translation>{user} n&apos;est pas adjudicateur.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>This case does not have two reads yet.</source>
        <translation>Ce dossier n&apos;a pas encore deux lectures.</translation>
    </message>
</context>
<context>
    <name>AlignmentController</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/alignment.py" line="+122"/>
        <source>Cancel alignment</source>
        <translation>Annuler l&apos;alignement</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Align timepoints automatically when a CT opens</source>
        <translation>Aligner automatiquement les évaluations à l&apos;ouverture d&apos;un TDM</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Align the other timepoints to the active CT now</source>
        <translation>Aligner maintenant les autres évaluations sur le TDM actif</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Timepoint alignment...</source>
        <translation>Alignement des évaluations...</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Timepoints are aligned automatically when a CT opens.</source>
        <translation>Les évaluations sont alignées automatiquement à l&apos;ouverture d&apos;un TDM.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Automatic alignment off: Protocols &gt; Align the other timepoints.</source>
        <translation>Alignement automatique désactivé&#xa0;: Protocoles &gt; Aligner maintenant les autres évaluations.</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Open a CT of the patient in the active viewport first.</source>
        <translation>Ouvrez d&apos;abord un TDM du patient dans la vue active.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Every other CT timepoint is already aligned to this one or linked.</source>
        <translation>Toutes les autres évaluations TDM sont déjà alignées sur celle-ci ou liées à elle.</translation>
    </message>
    <message>
        <location line="+82"/>
        <source>Cannot align: {reason}</source>
        <translation>Alignement impossible&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Aligning timepoints %p%</source>
        <translation>Alignement des évaluations %p%</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Aligning {moving} to {fixed} ({n}/{total}) %p%</source>
        <translation>Alignement de {moving} sur {fixed} ({n}/{total}) %p%</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Cannot align {moving} to {fixed}: {reason}</source>
        <translation>Impossible d&apos;aligner {moving} sur {fixed}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Aligned {moving} to {fixed}: rotation {rotation:.1f} degrees, shift ({x:.1f}, {y:.1f}, {z:.1f}) mm, mean squared difference {before:.0f} -&gt; {after:.0f} HU²; {refined} of {lesions} lesions refined locally.</source>
        <translation>{moving} aligné sur {fixed}&#xa0;: rotation {rotation:.1f} degrés, translation ({x:.1f}&#xa0;; {y:.1f}&#xa0;; {z:.1f}) mm, écart quadratique moyen {before:.0f} -&gt; {after:.0f} UH²&#xa0;; {refined} lésion(s) sur {lesions} affinée(s) localement.</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>Timepoints aligned to {fixed}: {n} of {total}.</source>
        <translation>Évaluations alignées sur {fixed}&#xa0;: {n} sur {total}.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Alignment cancelled: {n} of {total} timepoints aligned.</source>
        <translation>Alignement annulé&#xa0;: {n} évaluation(s) sur {total} alignée(s).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Alignment stopped: {reason}</source>
        <translation>Alignement interrompu&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Kept for this session only: the read on screen is not yours.</source>
        <translation>Conservé pour cette session seulement&#xa0;: la lecture affichée n&apos;est pas la vôtre.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Kept with the read (Edit &gt; Undo removes them).</source>
        <translation>Conservé avec la lecture (Édition &gt; Annuler le retire).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Kept for this session only: the read did not take them.</source>
        <translation>Conservé pour cette session seulement&#xa0;: la lecture ne l&apos;a pas enregistré.</translation>
    </message>
</context>
<context>
    <name>AlignmentPanel</name>
    <message>
        <location line="+71"/>
        <source>Timepoint alignment</source>
        <translation>Alignement des évaluations</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Each other CT timepoint is aligned to the CT opened (rigid registration, then a box around each lesion where it helps). A manual offset (Ctrl+K) of the same two timepoints is used instead while it exists.</source>
        <translation>Chaque autre évaluation TDM est alignée sur le TDM ouvert (recalage rigide, puis dans un cube autour de chaque lésion quand cela l&apos;améliore). Un décalage manuel (Ctrl+K) entre les deux mêmes évaluations est utilisé à la place tant qu&apos;il existe.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Timepoints</source>
        <translation>Évaluations</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Link used</source>
        <translation>Lien utilisé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rotation (degrees)</source>
        <translation>Rotation (degrés)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shift (mm)</source>
        <translation>Translation (mm)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mean squared difference (HU²)</source>
        <translation>Écart quadratique moyen (UH²)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lesions refined</source>
        <translation>Lésions affinées</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Time (s)</source>
        <translation>Durée (s)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Align again to the active CT</source>
        <translation>Réaligner sur le TDM actif</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>manual offset (the alignment is not used)</source>
        <translation>décalage manuel (l&apos;alignement n&apos;est pas utilisé)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>automatic, kept with the read</source>
        <translation>automatique, conservé avec la lecture</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>automatic, this session only</source>
        <translation>automatique, pour cette session seulement</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>{n} of {total}</source>
        <translation>{n} sur {total}</translation>
    </message>
</context>
<context>
    <name>Answer</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+112"/>
        <source>yes</source>
        <translation>oui</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no</source>
        <translation>non</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unknown</source>
        <translation>inconnu</translation>
    </message>
</context>
<context>
    <name>AssignDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/worklist.py" line="+528"/>
        <source>Assign cases</source>
        <translation>Attribuer les dossiers</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Subject</source>
        <translation>Sujet</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Timepoint</source>
        <translation>Évaluation</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Case status</source>
        <translation>Statut du dossier</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Readers</source>
        <translation>Lecteurs</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Trial subject ID</source>
        <translation>Identifiant du sujet dans l&apos;essai</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Timepoint (e.g. FU03M)</source>
        <translation>Évaluation (p. ex. FU03M)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>DICOM patient ID of the images</source>
        <translation>ID patient DICOM des images</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Create case</source>
        <translation>Créer le dossier</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Subject:</source>
        <translation>Sujet&#xa0;:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Timepoint:</source>
        <translation>Évaluation&#xa0;:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Patient ID:</source>
        <translation>ID patient&#xa0;:</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Assign selected case</source>
        <translation>Attribuer le dossier sélectionné</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>To:</source>
        <translation>À&#xa0;:</translation>
    </message>
    <message>
        <location line="+41"/>
        <source>A case needs a subject ID and a timepoint.</source>
        <translation>Un dossier nécessite un identifiant de sujet et une évaluation.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Case {subject} {timepoint} created.</source>
        <translation>Dossier {subject} {timepoint} créé.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Select a case to assign.</source>
        <translation>Sélectionnez un dossier à attribuer.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Assigned to {user} ({task}).</source>
        <translation>Attribué à {user} ({task}).</translation>
    </message>
</context>
<context>
    <name>AssignmentChooser</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/tools/assign_popup.py" line="+101"/>
        <source>Site:</source>
        <translation>Localisation&#xa0;:</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Primary renal tumour (not a metastasis)</source>
        <translation>Tumeur rénale primitive (pas une métastase)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Same lesion as:</source>
        <translation>Même lésion que&#xa0;:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>(not linked)</source>
        <translation>(non liée)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>OK (Enter)</source>
        <translation>OK (Entrée)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Leave unassigned (Esc)</source>
        <translation>Laisser sans lésion (Échap)</translation>
    </message>
</context>
<context>
    <name>AuditAction</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-17"/>
        <source>create</source>
        <translation>création</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>change</source>
        <translation>modification</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>delete</source>
        <translation>suppression</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>sign</source>
        <translation>signature</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unlock</source>
        <translation>déverrouillage</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>export</source>
        <translation>export</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>login</source>
        <translation>connexion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>login failed</source>
        <translation>échec de connexion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>logout</source>
        <translation>déconnexion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>assign</source>
        <translation>attribution</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>adjudicate</source>
        <translation>adjudication</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>account</source>
        <translation>compte</translation>
    </message>
</context>
<context>
    <name>AuditEntity</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/audit_view.py" line="+61"/>
        <source>reads</source>
        <translation>lectures</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>read</source>
        <translation>lecture</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>timepoints</source>
        <translation>évaluations</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>timepoint</source>
        <translation>évaluation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lesions</source>
        <translation>lésions</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>measurements</source>
        <translation>mesures</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>statuses</source>
        <translation>statuts</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>settings</source>
        <translation>réglages</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>user</source>
        <translation>utilisateur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>case</source>
        <translation>dossier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>assignment</source>
        <translation>attribution</translation>
    </message>
</context>
<context>
    <name>AuditView</name>
    <message>
        <location line="-21"/>
        <source>When (UTC)</source>
        <translation>Quand (UTC)</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+94"/>
        <source>User</source>
        <translation>Utilisateur</translation>
    </message>
    <message>
        <location line="-93"/>
        <location line="+94"/>
        <source>Action</source>
        <translation>Action</translation>
    </message>
    <message>
        <location line="-93"/>
        <source>Entity</source>
        <translation>Entité</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Key</source>
        <translation>Clé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Old value</source>
        <translation>Ancienne valeur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New value</source>
        <translation>Nouvelle valeur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason / detail</source>
        <translation>Motif / détail</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>(any)</source>
        <translation>(tous)</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>{text} is not a date (YYYY-MM-DD).</source>
        <translation>{text} n&apos;est pas une date (AAAA-MM-JJ).</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Audit trail</source>
        <translation>Piste d&apos;audit</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>From YYYY-MM-DD</source>
        <translation>Du AAAA-MM-JJ</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>To YYYY-MM-DD</source>
        <translation>Au AAAA-MM-JJ</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Read UID</source>
        <translation>UID de la lecture</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Apply filters</source>
        <translation>Appliquer les filtres</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Verify chain</source>
        <translation>Vérifier la chaîne</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Dates</source>
        <translation>Dates</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Read</source>
        <translation>Lecture</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Select an entry to see its old and new values in full.</source>
        <translation>Sélectionnez une entrée pour voir ses anciennes et nouvelles valeurs en entier.</translation>
    </message>
    <message>
        <location line="+66"/>
        <source>Filter: {problem}</source>
        <translation>Filtre&#xa0;: {problem}</translation>
    </message>
    <message>
        <location line="+26"/>
        <source> (your own entries: blinded mode)</source>
        <translation> (vos propres entrées&#xa0;: mode aveugle)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} entries{scope}</source>
        <translation>{n} entrées{scope}</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Entry {seq}  {when}  {user}  {action} {entity}</source>
        <translation>Entrée {seq}  {when}  {user}  {action} {entity}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Key: {value}</source>
        <translation>Clé&#xa0;: {value}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Read: {value}</source>
        <translation>Lecture&#xa0;: {value}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Old: {value}</source>
        <translation>Avant&#xa0;: {value}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New: {value}</source>
        <translation>Après&#xa0;: {value}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason: {value}</source>
        <translation>Motif&#xa0;: {value}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Detail: {value}</source>
        <translation>Détail&#xa0;: {value}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hash: {hash}  (previous {previous})</source>
        <translation>Empreinte&#xa0;: {hash}  (précédente {previous})</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Hash chain intact: {n} entries, none edited, deleted or inserted.</source>
        <translation>Chaîne d&apos;empreintes intacte&#xa0;: {n} entrées, aucune modifiée, supprimée ni insérée.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Hash chain BROKEN: {problems} problem(s) in {n} entries:</source>
        <translation>Chaîne d&apos;empreintes ROMPUE&#xa0;: {problems} problème(s) sur {n} entrées&#xa0;:</translation>
    </message>
</context>
<context>
    <name>CaseStatus</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-19"/>
        <source>not started</source>
        <translation>non commencé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>in progress</source>
        <translation>en cours</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>signed</source>
        <translation>signé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>needs adjudication</source>
        <translation>à adjuger</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>adjudicated</source>
        <translation>adjugé</translation>
    </message>
</context>
<context>
    <name>ColourMap</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/colormaps.py" line="+13"/>
        <source>Hot iron</source>
        <translation>Fer chaud</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rainbow</source>
        <translation>Arc-en-ciel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inverted grey</source>
        <translation>Gris inversé</translation>
    </message>
</context>
<context>
    <name>CriterionKind</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+17"/>
        <source>inclusion</source>
        <translation>inclusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>exclusion</source>
        <translation>exclusion</translation>
    </message>
</context>
<context>
    <name>Decision</name>
    <message>
        <location line="+4"/>
        <source>eligible</source>
        <translation>éligible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not eligible</source>
        <translation>non éligible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>incomplete</source>
        <translation>incomplet</translation>
    </message>
</context>
<context>
    <name>EligibilityView</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/eligibility.py" line="+64"/>
        <source>Criterion</source>
        <translation>Critère</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Text</source>
        <translation>Texte</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Answer</source>
        <translation>Réponse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>By</source>
        <translation>Par</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>When</source>
        <translation>Quand</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Detail</source>
        <translation>Détail</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>not answered</source>
        <translation>sans réponse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>yes</source>
        <translation>oui</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no</source>
        <translation>non</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unknown</source>
        <translation>inconnu</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Exclusion {n}</source>
        <translation>Exclusion {n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion {n}</source>
        <translation>Inclusion {n}</translation>
    </message>
    <message>
        <location line="+80"/>
        <source>NAMECAR eligibility</source>
        <translation>Éligibilité NAMECAR</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&lt;b&gt;Criteria wording: {status}&lt;/b&gt;&lt;br&gt;&lt;small&gt;{trial}. {source}&lt;br&gt;File: {path}&lt;/small&gt;</source>
        <translation>&lt;b&gt;Formulation des critères&#xa0;: {status}&lt;/b&gt;&lt;br&gt;&lt;small&gt;{trial}. {source}&lt;br&gt;Fichier&#xa0;: {path}&lt;/small&gt;</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>Undo answer</source>
        <translation>Annuler la réponse</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Redo answer</source>
        <translation>Rétablir la réponse</translation>
    </message>
    <message>
        <location line="+51"/>
        <source>Answering as: nobody is logged in; answers cannot be recorded.</source>
        <translation>Réponses au nom de&#xa0;: personne n&apos;est connecté&#xa0;; les réponses ne peuvent pas être enregistrées.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Answering as: {name}</source>
        <translation>Réponses au nom de&#xa0;: {name}</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>{criterion}: &apos;{choice}&apos; is not recorded yet. Press Enter or leave the box to record it, Esc to put back the recorded answer.</source>
        <translation>{criterion}&#xa0;: «&#xa0;{choice}&#xa0;» n&apos;est pas encore enregistré. Appuyez sur Entrée ou quittez la case pour l&apos;enregistrer, Échap pour remettre la réponse enregistrée.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Not recorded yet</source>
        <translation>Pas encore enregistré</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Nobody is logged in: the answer to {criterion} is not recorded.</source>
        <translation>Personne n&apos;est connecté&#xa0;: la réponse à {criterion} n&apos;est pas enregistrée.</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>Nothing to undo.</source>
        <translation>Rien à annuler.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The last change of the read is not an eligibility answer ({what}): undo it in the main window (Edit &gt; Undo).</source>
        <translation>La dernière modification de la lecture n&apos;est pas une réponse d&apos;éligibilité ({what})&#xa0;: annulez-la dans la fenêtre principale (Édition &gt; Annuler).</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Nothing to redo.</source>
        <translation>Rien à rétablir.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The next change to redo is not an eligibility answer ({what}): redo it in the main window (Edit &gt; Redo).</source>
        <translation>La prochaine modification à rétablir n&apos;est pas une réponse d&apos;éligibilité ({what})&#xa0;: rétablissez-la dans la fenêtre principale (Édition &gt; Rétablir).</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Patient {subject}, read by {reader}</source>
        <translation>Patient {subject}, lu par {reader}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>(none)</source>
        <translation>(aucun)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>(unknown)</source>
        <translation>(inconnu)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Decision: {headline}</source>
        <translation>Décision&#xa0;: {headline}</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>live from the read</source>
        <translation>en direct depuis la lecture</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>{answer} (from the read)</source>
        <translation>{answer} (depuis la lecture)</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/export_dialog.py" line="+51"/>
        <source>CSV for the trial database</source>
        <translation>CSV pour la base de données de l&apos;essai</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RECIST JSON</source>
        <translation>JSON RECIST</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>DICOM SR TID 1500, key images beside it (KOS)</source>
        <translation>DICOM SR TID 1500, images clés à côté (KOS)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>PDF response report</source>
        <translation>Rapport de réponse PDF</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Type a file name to export to.</source>
        <translation>Saisissez le nom du fichier d&apos;export.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Cannot export to {name}: the extension {ext} is not an export format. Use {known} (the format follows the extension), or no extension for the chosen file type.</source>
        <translation>Export impossible vers {name}&#xa0;: l&apos;extension {ext} n&apos;est pas un format d&apos;export. Utilisez {known} (le format suit l&apos;extension), ou aucune extension pour le type de fichier choisi.</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Export read</source>
        <translation>Exporter la lecture</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>The format follows the extension: .csv, .json, .dcm (DICOM SR; its key images are written beside it as NAME_kos.dcm, a DICOM KOS) or .pdf.</source>
        <translation>Le format suit l&apos;extension&#xa0;: .csv, .json, .dcm (DICOM SR&#xa0;; ses images clés sont écrites à côté sous le nom NOM_kos.dcm, un KOS DICOM) ou .pdf.</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>Export failed: {error}</source>
        <translation>Échec de l&apos;export&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Exported with warnings: {warnings}</source>
        <translation>Exporté avec des avertissements&#xa0;: {warnings}</translation>
    </message>
</context>
<context>
    <name>FusedViewport</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/viewports.py" line="+174"/>
        <source>SUV after the registration is accepted</source>
        <translation>SUV une fois le recalage accepté</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>PET NOT FUSED: different frame of reference.
Register (automatic or manual) and accept first.</source>
        <translation>TEP NON FUSIONNÉE&#xa0;: référentiel différent.
Recalez (automatiquement ou manuellement) et acceptez d&apos;abord.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>PET not fused: {reason}</source>
        <translation>TEP non fusionnée&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>The SUV window&apos;s upper end must exceed its lower end.</source>
        <translation>La borne haute de la fenêtre SUV doit dépasser sa borne basse.</translation>
    </message>
    <message>
        <location line="+51"/>
        <source>CANDIDATE REGISTRATION - not accepted</source>
        <translation>RECALAGE CANDIDAT - non accepté</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>+ PET {cmap} {lo:g}-{hi:g} {unit} ({opacity:.0%})</source>
        <translation>+ TEP {cmap} {lo:g}-{hi:g} {unit} ({opacity:.0%})</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>PET: outside</source>
        <translation>TEP&#xa0;: hors volume</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>PET: {value:.2f} {unit}</source>
        <translation>TEP&#xa0;: {value:.2f} {unit}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>SUV window {lo:g}-{hi:g} {unit}</source>
        <translation>Fenêtre SUV {lo:g}-{hi:g} {unit}</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/study_browser.py" line="+489"/>
        <source>Import studies</source>
        <translation>Importer des examens</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Folders, DICOMDIR files or zip archives to import:</source>
        <translation>Dossiers, fichiers DICOMDIR ou archives zip à importer&#xa0;:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Add folder...</source>
        <translation>Ajouter un dossier...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add DICOMDIR or zip...</source>
        <translation>Ajouter un DICOMDIR ou un zip...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Clear</source>
        <translation>Vider</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Copy into the managed store</source>
        <translation>Copier dans le stockage géré</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reference in place (files stay where they are)</source>
        <translation>Référencer sur place (les fichiers restent où ils sont)</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>What was imported, and what was skipped and why.</source>
        <translation>Ce qui a été importé, ce qui a été ignoré et pourquoi.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Import</source>
        <translation>Importer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel import</source>
        <translation>Annuler l&apos;import</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Close</source>
        <translation>Fermer</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Folder to import</source>
        <translation>Dossier à importer</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>DICOMDIR or zip to import</source>
        <translation>DICOMDIR ou zip à importer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>DICOMDIR or zip (DICOMDIR *.zip);;All files (*)</source>
        <translation>DICOMDIR ou zip (DICOMDIR *.zip);;Tous les fichiers (*)</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Add a folder, DICOMDIR or zip first.</source>
        <translation>Ajoutez d&apos;abord un dossier, un DICOMDIR ou un zip.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Cancelling after the current series...</source>
        <translation>Annulation après la série en cours...</translation>
    </message>
</context>
<context>
    <name>ImportSummary</name>
    <message>
        <location line="-488"/>
        <source>Import cancelled</source>
        <translation>Import annulé</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Import finished</source>
        <translation>Import terminé</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{head}: {added} new stacks, {extended} extended, {unchanged} already in the index; {images} images added, {existing} already indexed</source>
        <translation>{head}&#xa0;: {added} nouvelles piles, {extended} complétées, {unchanged} déjà dans l&apos;index&#xa0;; {images} images ajoutées, {existing} déjà indexées</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>; {n} files copied to the store</source>
        <translation>&#xa0;; {n} fichiers copiés dans le stockage</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Skipped ({n}):</source>
        <translation>Ignorés ({n})&#xa0;:</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Warnings:</source>
        <translation>Avertissements&#xa0;:</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{path}: {reason}</source>
        <translation>{path}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+323"/>
        <source>import failed: {reason}</source>
        <translation>échec de l&apos;import&#xa0;: {reason}</translation>
    </message>
</context>
<context>
    <name>KeyImageFlagger</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/key_images.py" line="+41"/>
        <source>Flag &amp;key image (K again unflags it)</source>
        <translation>Marquer l&apos;image &amp;clé (K à nouveau retire la marque)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Flag the slice on screen as a key image of the read (exported in the KOS beside the SR and shown in the PDF); each lesion&apos;s measured slice is one already.</source>
        <translation>Marque la coupe affichée comme image clé de la lecture (exportée dans le KOS à côté du SR et montrée dans le PDF)&#xa0;; la coupe mesurée de chaque lésion en est déjà une.</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>No image in the active viewport to flag as a key image.</source>
        <translation>Aucune image dans la fenêtre active à marquer comme image clé.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Key images are stored images: show the series in its acquisition plane to flag a slice (this view is a reformat).</source>
        <translation>Les images clés sont des images enregistrées&#xa0;: affichez la série dans son plan d&apos;acquisition pour marquer une coupe (cette vue est une reconstruction).</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>This study is not a timepoint of the RECIST read: add it first (File &gt; Add the active study to the RECIST read as a timepoint).</source>
        <translation>Cet examen n&apos;est pas une évaluation de la lecture RECIST&#xa0;: ajoutez-le d&apos;abord (Fichier &gt; Ajouter l&apos;examen actif à la lecture RECIST comme évaluation).</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{image} is a key image already: {lesions} measured on it.</source>
        <translation>{image} est déjà une image clé&#xa0;: {lesions} y est mesurée.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Flag key image</source>
        <translation>Marquer une image clé</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Unflag key image</source>
        <translation>Retirer la marque d&apos;image clé</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Key image flagged: {image}. K again unflags it.</source>
        <translation>Image clé marquée&#xa0;: {image}. K à nouveau retire la marque.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Key image unflagged: {image}.</source>
        <translation>Marque d&apos;image clé retirée&#xa0;: {image}.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>image {number}</source>
        <translation>image {number}</translation>
    </message>
</context>
<context>
    <name>LesionRole</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-76"/>
        <source>target</source>
        <translation>cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>non-target</source>
        <translation>non cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new</source>
        <translation>nouvelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ancillary</source>
        <translation>ancillaire</translation>
    </message>
</context>
<context>
    <name>LesionStatus</name>
    <message>
        <location line="+13"/>
        <source>present</source>
        <translation>présente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>absent</source>
        <translation>absente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unequivocal_progression</source>
        <translation>progression sans équivoque</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>too_small</source>
        <translation>trop petite pour être mesurée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not_evaluable</source>
        <translation>non évaluable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>split</source>
        <translation>fragmentée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>coalesced</source>
        <translation>confluente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>equivocal</source>
        <translation>douteuse</translation>
    </message>
</context>
<context>
    <name>LesionTablePanel</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/panels/lesion_table.py" line="+64"/>
        <source>Lesion</source>
        <translation>Lésion</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+418"/>
        <source>Role</source>
        <translation>Rôle</translation>
    </message>
    <message>
        <location line="-417"/>
        <location line="+424"/>
        <source>Site</source>
        <translation>Localisation</translation>
    </message>
    <message>
        <location line="-382"/>
        <source>marked ({kinds})</source>
        <translation>marquée ({kinds})</translation>
    </message>
    <message>
        <location line="+98"/>
        <source>{label} has no measurement yet: nothing to go to.</source>
        <translation>{label} n&apos;a pas encore de mesure&#xa0;: rien à afficher.</translation>
    </message>
    <message>
        <location line="+18"/>
        <source> (no transform between the {a} and {b} frames of reference: same patient coordinates used; set an offset to link them)</source>
        <translation> (aucune transformation entre les référentiels de {a} et de {b}&#xa0;: mêmes coordonnées patient utilisées&#xa0;; définissez un décalage pour les lier)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source> (mapped from {label})</source>
        <translation> (reportée depuis {label})</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>; the {label} study is not on screen</source>
        <translation>&#xa0;; l&apos;examen {label} n&apos;est pas affiché</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{label} at {timepoint}{where}.</source>
        <translation>{label} à {timepoint}{where}.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{label}: last seen at {timepoint}{note}{where}.</source>
        <translation>{label}&#xa0;: vue pour la dernière fois à {timepoint}{note}{where}.</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Go to lesion</source>
        <translation>Aller à la lésion</translation>
    </message>
    <message>
        <location line="+39"/>
        <source>{label}
day {n}</source>
        <translation>{label}
J{n}</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Checks</source>
        <translation>Contrôles</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>node</source>
        <translation>ganglion</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>primary</source>
        <translation>primitive</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Series no longer in the store: {series}. The measurement is kept; its images cannot be shown.</source>
        <translation>Série absente du stockage&#xa0;: {series}. La mesure est conservée&#xa0;; ses images ne peuvent pas être affichées.</translation>
    </message>
    <message>
        <location line="+120"/>
        <source>Status at this timepoint</source>
        <translation>Statut à cette évaluation</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>(none)</source>
        <translation>(aucun)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Relabel...</source>
        <translation>Renommer...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lymph node</source>
        <translation>Ganglion</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Primary renal tumour</source>
        <translation>Tumeur rénale primitive</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>New non-target lesion, present here</source>
        <translation>Nouvelle lésion non cible, présente ici</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New new lesion, present here</source>
        <translation>Nouvelle lésion (nouvelle), présente ici</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Delete lesion</source>
        <translation>Supprimer la lésion</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Lymph-node station</source>
        <translation>Aire ganglionnaire</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Station (optional):</source>
        <translation>Aire (facultatif)&#xa0;:</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Relabel lesion</source>
        <translation>Renommer la lésion</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Label:</source>
        <translation>Nom&#xa0;:</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/login.py" line="+44"/>
        <source>Login cancelled.</source>
        <translation>Connexion annulée.</translation>
    </message>
    <message>
        <location line="+104"/>
        <source>NAMECAR Viewer - first run</source>
        <translation>NAMECAR Viewer - premier lancement</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>NAMECAR Viewer - log in</source>
        <translation>NAMECAR Viewer - connexion</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&lt;b&gt;Welcome.&lt;/b&gt; This workstation has no reader accounts yet.&lt;br&gt;Enter your name: you become its single local user (every role, no password). An administrator can add accounts with passwords for a reading centre later.</source>
        <translation>&lt;b&gt;Bienvenue.&lt;/b&gt; Ce poste n&apos;a encore aucun compte de lecteur.&lt;br&gt;Saisissez votre nom&#xa0;: vous devenez son unique utilisateur local (tous les rôles, sans mot de passe). Un administrateur pourra ensuite ajouter des comptes avec mot de passe pour un centre de lecture.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&lt;b&gt;Log in&lt;/b&gt; to read, sign and adjudicate. Every edit and signature carries your name.</source>
        <translation>&lt;b&gt;Connectez-vous&lt;/b&gt; pour lire, signer et adjuger. Chaque modification et chaque signature portent votre nom.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Your name</source>
        <translation>Votre nom</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>User name</source>
        <translation>Nom d&apos;utilisateur</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name:</source>
        <translation>Nom&#xa0;:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>User:</source>
        <translation>Utilisateur&#xa0;:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Password</source>
        <translation>Mot de passe</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Password:</source>
        <translation>Mot de passe&#xa0;:</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Start</source>
        <translation>Commencer</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Log in</source>
        <translation>Se connecter</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Enter a name.</source>
        <translation>Saisissez un nom.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Enter your user name.</source>
        <translation>Saisissez votre nom d&apos;utilisateur.</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>{user} needs a password: log in from the dialog.</source>
        <translation>{user} a besoin d&apos;un mot de passe&#xa0;: connectez-vous depuis la boîte de dialogue.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Accounts need a password: no one is logged in.</source>
        <translation>Les comptes exigent un mot de passe&#xa0;: personne n&apos;est connecté.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/main_window.py" line="+198"/>
        <location line="+634"/>
        <location filename="../../src/namecar_viewer/gui/signing.py" line="+400"/>
        <source>NAMECAR Viewer</source>
        <translation>NAMECAR Viewer</translation>
    </message>
    <message>
        <location line="-606"/>
        <source>No studies yet. File &gt; Import (Ctrl+I) or Open folder.</source>
        <translation>Aucun examen pour l&apos;instant. Fichier &gt; Importer (Ctrl+I) ou Ouvrir un dossier.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Studies</source>
        <translation>Examens</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Ready</source>
        <translation>Prêt</translation>
    </message>
    <message>
        <location line="+69"/>
        <source>&amp;File</source>
        <translation>&amp;Fichier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Open folder...</source>
        <translation>&amp;Ouvrir un dossier...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Import studies (folder, DICOMDIR, zip)...</source>
        <translation>&amp;Importer des examens (dossier, DICOMDIR, zip)...</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Save &amp;screenshot...</source>
        <translation>Enregistrer une &amp;capture d&apos;écran...</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Query/&amp;Retrieve from PACS...</source>
        <translation>&amp;Rechercher/récupérer sur le PACS...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>PACS &amp;nodes...</source>
        <translation>&amp;Nœuds PACS...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Quit</source>
        <translation>&amp;Quitter</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;View</source>
        <translation>&amp;Affichage</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Layout {name}</source>
        <translation>Disposition {name}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Acquisition plane (native)</source>
        <translation>Plan d&apos;acquisition (natif)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Axial</source>
        <translation>Axial</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Coronal</source>
        <translation>Coronal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sagittal</source>
        <translation>Sagittal</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Load active series as &amp;MPR in all viewports</source>
        <translation>Charger la série active en &amp;MPR dans toutes les vues</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Zoom to &amp;fit</source>
        <translation>&amp;Ajuster le zoom</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Zoom 1:1 (one screen pixel per image pixel)</source>
        <translation>Zoom 1:1 (un pixel d&apos;écran par pixel d&apos;image)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Zoom in</source>
        <translation>Zoom avant</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Zoom out</source>
        <translation>Zoom arrière</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Reset view (fit and default window)</source>
        <translation>&amp;Réinitialiser la vue (ajustement et fenêtre par défaut)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Show text &amp;overlays</source>
        <translation>Afficher les &amp;textes incrustés</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Show cross-reference &amp;lines</source>
        <translation>Afficher les &amp;lignes de référence</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Show crosshair</source>
        <translation>Afficher le réticule</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>&amp;Blinded mode (hide patient and study text)</source>
        <translation>Mode &amp;aveugle (masquer les données du patient et de l&apos;examen)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Show study &amp;browser</source>
        <translation>Afficher le &amp;navigateur d&apos;examens</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>MRI-&amp;PET layout (MRI, PET in SUV, fusion, MIP)</source>
        <translation>Disposition IRM-&amp;TEP (IRM, TEP en SUV, fusion, MIP)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Window</source>
        <translation>Fe&amp;nêtre</translation>
    </message>
    <message>
        <location line="+13"/>
        <source> (W {width} / L {level})</source>
        <translation> (F {width} / N {level})</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Invert grey scale</source>
        <translation>&amp;Inverser l&apos;échelle de gris</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Navigate</source>
        <translation>Navi&amp;gation</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Next slice</source>
        <translation>Coupe suivante</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Down</source>
        <translation>Bas</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Previous slice</source>
        <translation>Coupe précédente</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Up</source>
        <translation>Haut</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>10 slices forward</source>
        <translation>10 coupes en avant</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Page Down</source>
        <translation>Page suivante</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>10 slices back</source>
        <translation>10 coupes en arrière</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Page Up</source>
        <translation>Page précédente</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>First slice</source>
        <translation>Première coupe</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Home</source>
        <translation>Début</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Last slice</source>
        <translation>Dernière coupe</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>End</source>
        <translation>Fin</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Cine play / pause</source>
        <translation>&amp;Ciné lecture / pause</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Next viewport</source>
        <translation>Vue suivante</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Next volume of the series</source>
        <translation>Volume suivant de la série</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Previous volume of the series</source>
        <translation>Volume précédent de la série</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Play the volumes of the series / stop</source>
        <translation>Faire défiler les volumes de la série / arrêter</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Tools</source>
        <translation>&amp;Outils</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Crosshair (click places the linked point)</source>
        <translation>&amp;Réticule (un clic place le point lié)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;Pan (left drag)</source>
        <translation>&amp;Déplacement (glisser à gauche)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>&amp;Window/level (left drag)</source>
        <translation>&amp;Fenêtre/niveau (glisser à gauche)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;Help</source>
        <translation>Ai&amp;de</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Keyboard shortcuts</source>
        <translation>&amp;Raccourcis clavier</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;About</source>
        <translation>À &amp;propos</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Language</source>
        <translation>&amp;Langue</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>System default</source>
        <translation>Langue du système</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>&amp;Theme</source>
        <translation>&amp;Thème</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>Language: {name}.</source>
        <translation>Langue&#xa0;: {name}.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Language: {name}, from the next start of the workstation.</source>
        <translation>Langue&#xa0;: {name}, au prochain démarrage du poste.</translation>
    </message>
    <message>
        <location line="+89"/>
        <source>Cannot load {title}: {reason}</source>
        <translation>Impossible de charger {title}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+57"/>
        <source>NAMECAR Viewer: imaging review workstation for the NAMECAR trial.</source>
        <translation>NAMECAR Viewer&#xa0;: poste de relecture d&apos;imagerie de l&apos;essai NAMECAR.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Open folder</source>
        <translation>Ouvrir un dossier</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+18"/>
        <source>PACS nodes</source>
        <translation>Nœuds PACS</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>{reason}; starting from empty settings</source>
        <translation>{reason}&#xa0;; réglages vides utilisés</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Save screenshot</source>
        <translation>Enregistrer une capture d&apos;écran</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>PNG image (*.png)</source>
        <translation>Image PNG (*.png)</translation>
    </message>
</context>
<context>
    <name>MeasurementKind</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-18"/>
        <source>line</source>
        <translation>ligne</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>bidirectional</source>
        <translation>bidimensionnelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ellipse</source>
        <translation>ellipse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>point</source>
        <translation>point</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>arrow</source>
        <translation>flèche</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>sphere</source>
        <translation>sphère</translation>
    </message>
</context>
<context>
    <name>MeasurementLayer</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/tools/layer.py" line="+287"/>
        <source> (no lesion)</source>
        <translation> (sans lésion)</translation>
    </message>
    <message>
        <location line="+17"/>
        <source> (Enter: accept)</source>
        <translation> (Entrée&#xa0;: accepter)</translation>
    </message>
    <message>
        <location line="+84"/>
        <source>mean {mean:.1f} SD {sd:.1f}{unit}</source>
        <translation>moyenne {mean:.1f} ET {sd:.1f}{unit}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>min {low:.1f} max {high:.1f}{unit}</source>
        <translation>min {low:.1f} max {high:.1f}{unit}</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>SUVpeak {peak:.2f}{unit} (1 cm3 sphere)</source>
        <translation>SUVpeak {peak:.2f}{unit} (sphère de 1 cm3)</translation>
    </message>
    <message>
        <location line="+109"/>
        <source>No read is open for this study: nothing was recorded.</source>
        <translation>Aucune lecture n&apos;est ouverte pour cet examen&#xa0;: rien n&apos;a été enregistré.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>This read is view only.</source>
        <translation>Cette lecture est en consultation seule.</translation>
    </message>
    <message>
        <location line="+41"/>
        <location line="+94"/>
        <source> at {label}</source>
        <translation> à {label}</translation>
    </message>
    <message>
        <location line="-90"/>
        <source>RECIST read</source>
        <translation>lecture RECIST</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>MRI-PET record</source>
        <translation>dossier IRM-TEP</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&lt;b&gt;{size}{where}&lt;/b&gt; ({record}): which lesion?</source>
        <translation>&lt;b&gt;{size}{where}&lt;/b&gt; ({record})&#xa0;: quelle lésion&#xa0;?</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Left unassigned: part of no lesion (Enter on it to assign).</source>
        <translation>Laissée sans lésion&#xa0;: ne fait partie d&apos;aucune lésion (Entrée dessus pour l&apos;attribuer).</translation>
    </message>
    <message>
        <location line="+66"/>
        <source>Kept as an annotation: not part of the RECIST read.</source>
        <translation>Conservée comme annotation&#xa0;: hors lecture RECIST.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Kept as an annotation of the MRI-PET record.</source>
        <translation>Conservée comme annotation du dossier IRM-TEP.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{label} ({role}, {site}){where}: {size}</source>
        <translation>{label} ({role}, {site}){where}&#xa0;: {size}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source> (kept here, not yet saved)</source>
        <translation> (conservée ici, pas encore enregistrée)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Other edits came since: use Edit &gt; Undo step by step.</source>
        <translation>D&apos;autres modifications ont suivi&#xa0;: utilisez Édition &gt; Annuler pas à pas.</translation>
    </message>
</context>
<context>
    <name>MipViewport</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/mip_view.py" line="+157"/>
        <source>No PET loaded for the MIP.</source>
        <translation>Aucune TEP chargée pour la MIP.</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>PET MIP {angle}°</source>
        <translation>MIP TEP {angle}°</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> (rotating)</source>
        <translation> (rotation)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Hottest on ray: {value:.2f} {unit}</source>
        <translation>Maximum sur le rayon&#xa0;: {value:.2f} {unit}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>({x:.1f}, {y:.1f}, {z:.1f}) mm LPS</source>
        <translation>({x:.1f}&#xa0;; {y:.1f}&#xa0;; {z:.1f}) mm LPS</translation>
    </message>
</context>
<context>
    <name>MriPetView</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/layout.py" line="+59"/>
        <source>MRI</source>
        <translation>IRM</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+192"/>
        <source>PET</source>
        <translation>TEP</translation>
    </message>
    <message>
        <location line="-161"/>
        <source>Fusion</source>
        <translation>Fusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Registration</source>
        <translation>Recalage</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>PET lesions</source>
        <translation>Lésions TEP</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>PET colour map</source>
        <translation>Palette de couleurs TEP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PET opacity</source>
        <translation>Opacité TEP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUV window low</source>
        <translation>Fenêtre SUV, borne basse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUV window high</source>
        <translation>Fenêtre SUV, borne haute</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>PET values and statistics in {unit}.</source>
        <translation>Valeurs et statistiques TEP en {unit}.</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>PET fused over the MRI.</source>
        <translation>TEP fusionnée sur l&apos;IRM.</translation>
    </message>
    <message>
        <location line="+67"/>
        <source>MRI-PET layout needs an MRI and a PET series among the open studies.</source>
        <translation>La disposition IRM-TEP nécessite une série IRM et une série TEP parmi les examens ouverts.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Cannot load the MRI: {reason}</source>
        <translation>Impossible de charger l&apos;IRM&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>NAMECAR Viewer - MRI-PET</source>
        <translation>NAMECAR Viewer - IRM-TEP</translation>
    </message>
</context>
<context>
    <name>NewLesions</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+20"/>
        <source>none</source>
        <translation>aucune</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>equivocal</source>
        <translation>douteuses</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unequivocal</source>
        <translation>sans équivoque</translation>
    </message>
</context>
<context>
    <name>NodesDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/pacs/nodes_dialog.py" line="+41"/>
        <location line="+7"/>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>AE title</source>
        <translation>AE title</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Host</source>
        <translation>Hôte</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Port</source>
        <translation>Port</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Base URL</source>
        <translation>URL de base</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Auth</source>
        <translation>Authentification</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>User</source>
        <translation>Utilisateur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Password / token</source>
        <translation>Mot de passe / jeton</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>none</source>
        <translation>aucune</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>basic</source>
        <translation>basique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>bearer</source>
        <translation>jeton (bearer)</translation>
    </message>
    <message>
        <location line="+11"/>
        <location line="+179"/>
        <source>PACS nodes</source>
        <translation>Nœuds PACS</translation>
    </message>
    <message>
        <location line="-173"/>
        <source>This workstation</source>
        <translation>Ce poste</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Our AE title</source>
        <translation>Notre AE title</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C-STORE receiver port (C-MOVE destination)</source>
        <translation>Port de réception C-STORE (destination C-MOVE)</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>DIMSE nodes (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE)</source>
        <translation>Nœuds DIMSE (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>DICOMweb nodes (QIDO-RS, WADO-RS, STOW-RS)</source>
        <translation>Nœuds DICOMweb (QIDO-RS, WADO-RS, STOW-RS)</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Add</source>
        <translation>Ajouter</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove</source>
        <translation>Retirer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Test connection</source>
        <translation>Tester la connexion</translation>
    </message>
    <message>
        <location line="+25"/>
        <location line="+13"/>
        <source>new</source>
        <translation>nouveau</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>off</source>
        <translation>non</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>on</source>
        <translation>oui</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>DIMSE row {row}: port {port} is not a number</source>
        <translation>DIMSE, ligne {row}&#xa0;: le port {port} n&apos;est pas un nombre</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>Invalid settings: {problem}</source>
        <translation>Réglages invalides&#xa0;: {problem}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Add a node first.</source>
        <translation>Ajoutez d&apos;abord un nœud.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Testing {node}...</source>
        <translation>Test de {node}...</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>OK: {message}</source>
        <translation>OK&#xa0;: {message}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Failed: {message}</source>
        <translation>Échec&#xa0;: {message}</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Not saved: {problem}</source>
        <translation>Non enregistré&#xa0;: {problem}</translation>
    </message>
</context>
<context>
    <name>NonTargetStatus</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-7"/>
        <source>present</source>
        <translation>présente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>absent</source>
        <translation>absente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unequivocal_progression</source>
        <translation>progression sans équivoque</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not_evaluated</source>
        <translation>non évaluée</translation>
    </message>
</context>
<context>
    <name>OffsetPicker</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/linking.py" line="+48"/>
        <source>This series has no frame of reference: it cannot be linked.</source>
        <translation>Cette série n&apos;a pas de référentiel&#xa0;: elle ne peut pas être liée.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Offset: now click the same anatomy in a viewport of the other timepoint (first point {x:.1f}, {y:.1f}, {z:.1f} mm).</source>
        <translation>Décalage&#xa0;: cliquez maintenant sur la même structure anatomique dans une vue de l&apos;autre évaluation (premier point {x:.1f}&#xa0;; {y:.1f}&#xa0;; {z:.1f} mm).</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Timepoints linked: offset ({x:.1f}, {y:.1f}, {z:.1f}) mm LPS (|t| = {norm:.1f} mm).</source>
        <translation>Évaluations liées&#xa0;: décalage ({x:.1f}&#xa0;; {y:.1f}&#xa0;; {z:.1f}) mm LPS (|t| = {norm:.1f} mm).</translation>
    </message>
</context>
<context>
    <name>PdfReport</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/reports/pdf_report.py" line="+101"/>
        <source>NAMECAR response report {subject}</source>
        <translation>Rapport de réponse NAMECAR {subject}</translation>
    </message>
    <message>
        <location line="+57"/>
        <source>draft</source>
        <translation>brouillon</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>signed {n} of {total} timepoints</source>
        <translation>{n} évaluation(s) signée(s) sur {total}</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>{subject} - {status} - page {n}</source>
        <translation>{subject} - {status} - page {n}</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>NAMECAR response report - RECIST 1.1</source>
        <translation>Rapport de réponse NAMECAR - RECIST 1.1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Subject: {subject}    Reader: {reader}</source>
        <translation>Sujet&#xa0;: {subject}    Lecteur&#xa0;: {reader}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Status: draft - not signed</source>
        <translation>Statut&#xa0;: brouillon - non signé</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Status: {status}</source>
        <translation>Statut&#xa0;: {status}</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Timepoints - {timepoints}</source>
        <translation>Évaluations - {timepoints}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lesions (long x short axis, mm; status)</source>
        <translation>Lésions (grand axe x petit axe, mm&#xa0;; statut)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>node</source>
        <translation>ganglion</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>primary</source>
        <translation>primitive</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Lesion</source>
        <translation>Lésion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Role</source>
        <translation>Rôle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Site</source>
        <translation>Localisation</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Response per timepoint (RECIST 1.1)</source>
        <translation>Réponse par évaluation (RECIST 1.1)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Not evaluable: {error}</source>
        <translation>Non évaluable&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Timepoint</source>
        <translation>Évaluation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sum</source>
        <translation>Somme</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>vs baseline</source>
        <translation>vs référence</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Non-target</source>
        <translation>Non cibles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New lesions</source>
        <translation>Nouvelles lésions</translation>
    </message>
    <message>
        <location line="+112"/>
        <source>Key images: each lesion at each timepoint (10 mm or less: enlarged, calipers beside it)</source>
        <translation>Images clés&#xa0;: chaque lésion à chaque évaluation (10&#xa0;mm ou moins&#xa0;: agrandie, mesures tracées à côté)</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>Key images flagged by the reader</source>
        <translation>Images clés marquées par le lecteur</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>image {number}</source>
        <translation>image {number}</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>not measured</source>
        <translation>non mesurée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>source image unknown</source>
        <translation>image source inconnue</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>source image not found</source>
        <translation>image source introuvable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>image unreadable</source>
        <translation>image illisible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>drawn off the image plane</source>
        <translation>tracée hors du plan de l&apos;image</translation>
    </message>
    <message>
        <location line="+66"/>
        <source>enlarged x{zoom}</source>
        <translation>agrandie x{zoom}</translation>
    </message>
    <message>
        <location line="-272"/>
        <source>Nadir</source>
        <translation>Nadir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>vs nadir</source>
        <translation>vs nadir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Target</source>
        <translation>Cibles</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Overall</source>
        <translation>Globale</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reasons</source>
        <translation>Motifs</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>NAMECAR eligibility (pre-treatment baseline vs inclusion)</source>
        <translation>Éligibilité NAMECAR (référence pré-thérapeutique vs inclusion)</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Response over time</source>
        <translation>Réponse au cours du temps</translation>
    </message>
</context>
<context>
    <name>PetGrid</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/grid.py" line="+57"/>
        <source>automatic</source>
        <translation>automatique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>manual</source>
        <translation>manuel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>automatic+manual</source>
        <translation>automatique+manuel</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Fusion: waiting for the MRI and the PET to load...</source>
        <translation>Fusion&#xa0;: en attente du chargement de l&apos;IRM et de la TEP...</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>PET NOT IN SUV - shown in stored values ({units})</source>
        <translation>TEP HORS SUV - affichée en valeurs stockées ({units})</translation>
    </message>
    <message>
        <location line="+137"/>
        <source>Enter missing SUV values...</source>
        <translation>Saisir les valeurs SUV manquantes...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Weight, injected activity or injection time from the injection record</source>
        <translation>Poids, activité injectée ou heure d&apos;injection d&apos;après la fiche d&apos;injection</translation>
    </message>
    <message>
        <location line="+122"/>
        <source>PET shown in stored values, not SUV: {reason}</source>
        <translation>TEP affichée en valeurs stockées, pas en SUV&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Not an SUV input: {reason}</source>
        <translation>Pas une donnée SUV&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Reader-entered SUV values stored with the MRI-PET record.</source>
        <translation>Valeurs SUV saisies par le lecteur enregistrées avec le dossier IRM-TEP.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source> Still missing: {what}</source>
        <translation> Manque encore&#xa0;: {what}</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Registration ({method}) accepted and stored with the MRI-PET record; every linked view uses it.</source>
        <translation>Recalage ({method}) accepté et enregistré avec le dossier IRM-TEP&#xa0;; toutes les vues liées l&apos;utilisent.</translation>
    </message>
    <message>
        <location line="+87"/>
        <source>PET registration</source>
        <translation>Recalage TEP</translation>
    </message>
</context>
<context>
    <name>PetLesionPanel</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/lesion_dock.py" line="+50"/>
        <source>Lesion id</source>
        <translation>Id. lésion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Label</source>
        <translation>Nom</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>MTV (ml)</source>
        <translation>MTV (ml)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>MRI/CT size</source>
        <translation>Taille IRM/TDM</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>liver</source>
        <translation>foie</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>blood pool</source>
        <translation>pool sanguin</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>parotid</source>
        <translation>parotide</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>lesion id (from the read, e.g. T1)</source>
        <translation>id. de la lésion (de la lecture, p. ex. T1)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Add lesion at crosshair</source>
        <translation>Ajouter une lésion au réticule</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Set reference at crosshair</source>
        <translation>Placer la référence au réticule</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>% of SUVmax</source>
        <translation>% du SUVmax</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUV absolute</source>
        <translation>SUV absolu</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Reference:</source>
        <translation>Référence&#xa0;:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>MTV threshold:</source>
        <translation>Seuil MTV&#xa0;:</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>SUV in g/ml (SUVbw); MTV inside the threshold; TBR = SUVmax / reference mean.</source>
        <translation>SUV en g/ml (SUVbw)&#xa0;; MTV au-dessus du seuil&#xa0;; TBR = SUVmax / moyenne de la référence.</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>Place the crosshair on the PET or a linked view first.</source>
        <translation>Placez d&apos;abord le réticule sur la TEP ou une vue liée.</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>MRI-PET record, lesion {label} {timepoint}</source>
        <translation>Relecture IRM-TEP, lésion {label} {timepoint}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>RECIST read, lesion {label} at {timepoint}</source>
        <translation>Relecture RECIST, lésion {label} à {timepoint}</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Values in {unit}; MTV at {threshold}.</source>
        <translation>Valeurs en {unit}&#xa0;; MTV à {threshold}.</translation>
    </message>
</context>
<context>
    <name>ProblemText</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/i18n.py" line="+497"/>
        <source>{severity}: {message}</source>
        <translation>{severity}&#xa0;: {message}</translation>
    </message>
</context>
<context>
    <name>ProposalFlow</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/tools/proposals.py" line="+218"/>
        <source>Proposed measurements: next lesion</source>
        <translation>Mesures proposées&#xa0;: lésion suivante</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Proposed measurements: previous lesion</source>
        <translation>Mesures proposées&#xa0;: lésion précédente</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Proposed measurements: absent</source>
        <translation>Mesures proposées&#xa0;: absente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Proposed measurements: too small to measure</source>
        <translation>Mesures proposées&#xa0;: trop petite pour être mesurée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Proposed measurements: not evaluable</source>
        <translation>Mesures proposées&#xa0;: non évaluable</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Proposed measurements: accept (or confirm the previous answer)</source>
        <translation>Mesures proposées&#xa0;: accepter (ou confirmer la réponse précédente)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enter</source>
        <translation>Entrée</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>P (Pan when no proposals are shown)</source>
        <translation>P (déplacement quand aucune proposition n&apos;est affichée)</translation>
    </message>
    <message>
        <location line="+91"/>
        <source>Proposed measurements: waiting for the CT to load.</source>
        <translation>Mesures proposées&#xa0;: en attente du chargement de la TDM.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>This read is view only.</source>
        <translation>Cette lecture est en consultation seule.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Proposed measurements are made on the CT of a follow-up of the RECIST read.</source>
        <translation>Les mesures proposées se font sur la TDM d&apos;un suivi de la lecture RECIST.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Proposed measurements are made at follow-ups: at the baseline, choose the lesions with the measurement tools.</source>
        <translation>Les mesures proposées se font aux suivis&#xa0;: à la référence, choisissez les lésions avec les outils de mesure.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>No lesion of the read is expected at {label}.</source>
        <translation>Aucune lésion de la lecture n&apos;est attendue à {label}.</translation>
    </message>
    <message>
        <location line="+233"/>
        <source>{label}: back to the proposal; Enter accepts it.</source>
        <translation>{label}&#xa0;: retour à la proposition&#xa0;; Entrée pour l&apos;accepter.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>{label}: nothing found near where it is expected. 0 absent, S too small, U not evaluable, or click the lesion.</source>
        <translation>{label}&#xa0;: rien trouvé près de sa position attendue. 0 absente, S trop petite, U non évaluable, ou cliquez sur la lésion.</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Nothing stored.</source>
        <translation>Rien n&apos;a été enregistré.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&lt;b&gt;{label}: {size}&lt;/b&gt; (proposed here): which lesion?</source>
        <translation>&lt;b&gt;{label}&#xa0;: {size}&lt;/b&gt; (proposée ici)&#xa0;: quelle lésion&#xa0;?</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>Other edits came since: use Edit &gt; Undo step by step.</source>
        <translation>D&apos;autres modifications ont suivi&#xa0;: utilisez Édition &gt; Annuler pas à pas.</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>recorded</source>
        <translation>enregistrée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{label} ({role}, {site}) at {timepoint}: {answer}</source>
        <translation>{label} ({role}, {site}) à {timepoint}&#xa0;: {answer}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Every lesion expected at {label} is assessed: Ctrl+Shift+G signs it, Alt+1 brings the next CT.</source>
        <translation>Toutes les lésions attendues à {label} sont évaluées&#xa0;: Ctrl+Maj+G pour signer, Alt+1 pour la TDM suivante.</translation>
    </message>
    <message>
        <location line="+105"/>
        <source>{label} {site} ({role}), {n}/{count} at {timepoint}</source>
        <translation>{label} {site} ({role}), {n}/{count} à {timepoint}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>assessed: {answer}</source>
        <translation>évaluée&#xa0;: {answer}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>proposed {size}: Enter accepts</source>
        <translation>proposée {size}&#xa0;: Entrée pour accepter</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>proposed, edited: {size}; Enter accepts</source>
        <translation>proposée, modifiée&#xa0;: {size}&#xa0;; Entrée pour accepter</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>yours: {size}; Enter accepts</source>
        <translation>votre mesure&#xa0;: {size}&#xa0;; Entrée pour accepter</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{status} at {timepoint}? Enter confirms</source>
        <translation>{status} à {timepoint}&#xa0;? Entrée pour confirmer</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{status}? Enter confirms</source>
        <translation>{status}&#xa0;? Entrée pour confirmer</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>never located: click it</source>
        <translation>jamais localisée&#xa0;: cliquez dessus</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>not found near where it is expected</source>
        <translation>non trouvée près de sa position attendue</translation>
    </message>
    <message>
        <location line="+2"/>
        <source> (timepoints not aligned)</source>
        <translation> (évaluations non alignées)</translation>
    </message>
    <message>
        <location line="+18"/>
        <source> (Enter: accept)</source>
        <translation> (Entrée&#xa0;: accepter)</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>{label}: {status}? (Enter)</source>
        <translation>{label}&#xa0;: {status}&#xa0;? (Entrée)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{label}: not found here</source>
        <translation>{label}&#xa0;: non trouvée ici</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Enter accept · drag a handle to edit · click the lesion · 0 absent · S too small · U not evaluable · N/P next/previous lesion</source>
        <translation>Entrée accepter · glisser une poignée pour modifier · cliquer sur la lésion · 0 absente · S trop petite · U non évaluable · N/P lésion suivante/précédente</translation>
    </message>
</context>
<context>
    <name>QAbstractFileIconProvider</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/i18n.py" line="-400"/>
        <source>Folder</source>
        <comment>All other platforms</comment>
        <translation>Dossier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>File</source>
        <comment>All other platforms</comment>
        <translation>Fichier</translation>
    </message>
</context>
<context>
    <name>QFileDialog</name>
    <message>
        <location line="-8"/>
        <source>Files of &amp;type:</source>
        <translation>Fichiers de &amp;type&#xa0;:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Look in:</source>
        <translation>&amp;Regarder dans&#xa0;:</translation>
    </message>
</context>
<context>
    <name>QueryRetrieveDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/pacs/qr_dialog.py" line="+53"/>
        <source>Date</source>
        <translation>Date</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+65"/>
        <source>Patient ID</source>
        <translation>ID patient</translation>
    </message>
    <message>
        <location line="-64"/>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Subject ID</source>
        <translation>ID sujet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Modalities</source>
        <translation>Modalités</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+7"/>
        <source>Description</source>
        <translation>Description</translation>
    </message>
    <message>
        <location line="-6"/>
        <location line="+63"/>
        <source>Accession</source>
        <translation>N° d&apos;examen</translation>
    </message>
    <message>
        <location line="-62"/>
        <location line="+6"/>
        <source>Images</source>
        <translation>Images</translation>
    </message>
    <message>
        <location line="-2"/>
        <location line="+61"/>
        <source>Modality</source>
        <translation>Modalité</translation>
    </message>
    <message>
        <location line="-58"/>
        <source>Progress</source>
        <translation>Progression</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>Statut</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>pending</source>
        <translation>en attente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>running</source>
        <translation>en cours</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>done</source>
        <translation>terminé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>failed</source>
        <translation>échec</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>cancelled</source>
        <translation>annulé</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Query / Retrieve</source>
        <translation>Recherche / récupération</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Node</source>
        <translation>Nœud</translation>
    </message>
    <message>
        <location line="+10"/>
        <location line="+21"/>
        <source>Search</source>
        <translation>Rechercher</translation>
    </message>
    <message>
        <location line="-15"/>
        <source>Patient name</source>
        <translation>Nom du patient</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>DOE^J  (a * is added)</source>
        <translation>DUPONT^J  (un * est ajouté)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trial subject ID</source>
        <translation>Identifiant du sujet dans l&apos;essai</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Study date from</source>
        <translation>Date d&apos;examen du</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+1"/>
        <source>YYYY-MM-DD</source>
        <translation>AAAA-MM-JJ</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>to</source>
        <translation>au</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Retrieve by</source>
        <translation>Récupérer par</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Retrieve selected series</source>
        <translation>Récupérer les séries sélectionnées</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Retrieve study</source>
        <translation>Récupérer l&apos;examen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Retry failed</source>
        <translation>Relancer les échecs</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Choose a node and search.</source>
        <translation>Choisissez un nœud et lancez la recherche.</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+52"/>
        <source>No PACS node configured: File &gt; PACS nodes...</source>
        <translation>Aucun nœud PACS configuré&#xa0;: Fichier &gt; Nœuds PACS...</translation>
    </message>
    <message>
        <location line="-31"/>
        <source>{method} to {aet}</source>
        <translation>{method} vers {aet}</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+18"/>
        <source>Error: {message}</source>
        <translation>Erreur&#xa0;: {message}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Searching {node}...</source>
        <translation>Recherche sur {node}...</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>{n} studies found on {node}.</source>
        <translation>{n} examens trouvés sur {node}.</translation>
    </message>
    <message>
        <location line="+45"/>
        <source>local</source>
        <translation>local</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} local</source>
        <translation>{n} en local</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Select a study first.</source>
        <translation>Sélectionnez d&apos;abord un examen.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>No series to retrieve.</source>
        <translation>Aucune série à récupérer.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Retrieving {n} series by {method}...</source>
        <translation>Récupération de {n} séries par {method}...</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>{status}: {message}</source>
        <translation>{status}&#xa0;: {message}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Retrieved {n} instances into {folder}.</source>
        <translation>{n} instances récupérées dans {folder}.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Retrieve cancelled</source>
        <translation>Récupération annulée</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Some instances did not arrive</source>
        <translation>Certaines instances ne sont pas arrivées</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{head}. {n} instances are kept in {folder}; Retry fetches only what is missing.</source>
        <translation>{head}. {n} instances sont conservées dans {folder}&#xa0;; Relancer ne récupère que ce qui manque.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Cancelling after the current instance...</source>
        <translation>Annulation après l&apos;instance en cours...</translation>
    </message>
</context>
<context>
    <name>ReadColumn</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/adjudication.py" line="-190"/>
        <source>Lesion</source>
        <translation>Lésion</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Role</source>
        <translation>Rôle</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Site</source>
        <translation>Localisation</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Lesions (diameters in mm)</source>
        <translation>Lésions (diamètres en mm)</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>RECIST 1.1 response per timepoint</source>
        <translation>Réponse RECIST 1.1 par évaluation</translation>
    </message>
</context>
<context>
    <name>ReadController</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/tools/controller.py" line="+67"/>
        <source>&amp;Line (length)</source>
        <translation>&amp;Ligne (longueur)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Bidirectional (long and short axis)</source>
        <translation>&amp;Bidimensionnelle (grand et petit axe)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Semi-&amp;automatic diameter (click a lesion, Enter accepts)</source>
        <translation>Diamètre semi-&amp;automatique (clic sur une lésion, Entrée valide)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Ellipse ROI</source>
        <translation>ROI &amp;ellipse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C&amp;ircle ROI</source>
        <translation>ROI &amp;cercle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>P&amp;oint</source>
        <translation>P&amp;oint</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A&amp;rrow</source>
        <translation>&amp;Flèche</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Sphere VOI (3D)</source>
        <translation>VOI &amp;sphère (3D)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Proposed &amp;measurements at a follow-up (each lesion found again, Enter accepts)</source>
        <translation>&amp;Mesures proposées à un suivi (chaque lésion retrouvée, Entrée valide)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Line</source>
        <translation>Ligne</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bidirectional</source>
        <translation>Bidimensionnelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Semi-auto</source>
        <translation>Semi-auto</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ellipse</source>
        <translation>Ellipse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Circle</source>
        <translation>Cercle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Point</source>
        <translation>Point</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Arrow</source>
        <translation>Flèche</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sphere</source>
        <translation>Sphère</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Proposals</source>
        <translation>Propositions</translation>
    </message>
    <message>
        <location line="+122"/>
        <source>Lesions</source>
        <translation>Lésions</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>&amp;Edit</source>
        <translation>É&amp;dition</translation>
    </message>
    <message>
        <location line="+8"/>
        <location line="+38"/>
        <location line="+298"/>
        <source>&amp;Undo</source>
        <translation>&amp;Annuler</translation>
    </message>
    <message>
        <location line="-333"/>
        <location line="+36"/>
        <location line="+300"/>
        <source>&amp;Redo</source>
        <translation>&amp;Rétablir</translation>
    </message>
    <message>
        <location line="-328"/>
        <source>Retry saving the read</source>
        <translation>Réessayer d&apos;enregistrer la lecture</translation>
    </message>
    <message>
        <location line="+7"/>
        <location line="+15"/>
        <source>Start &amp;my read of this patient</source>
        <translation>Commencer &amp;ma lecture de ce patient</translation>
    </message>
    <message>
        <location line="-11"/>
        <source>Open another reader&apos;s read (view only)...</source>
        <translation>Ouvrir la lecture d&apos;un autre lecteur (consultation seule)...</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Add the active study to the RECIST read as a timepoint</source>
        <translation>Ajouter l&apos;examen actif à la lecture RECIST comme évaluation</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>&amp;Tools</source>
        <translation>&amp;Outils</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Measurement tools</source>
        <translation>Outils de mesure</translation>
    </message>
    <message>
        <location line="+70"/>
        <source>Your read of this patient ({reader}). Other reads: {names}.</source>
        <translation>Votre lecture de ce patient ({reader}). Autres lectures&#xa0;: {names}.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>View another reader&apos;s read...</source>
        <translation>Voir la lecture d&apos;un autre lecteur...</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Open a series of the patient first (double-click it in the study browser).</source>
        <translation>Ouvrez d&apos;abord une série du patient (double-clic dans le navigateur d&apos;examens).</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Your read of {pid}: every edit is yours ({reader}).</source>
        <translation>Votre lecture de {pid}&#xa0;: chaque modification est à votre nom ({reader}).</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>No other reader has a read of this patient.</source>
        <translation>Aucun autre lecteur n&apos;a de lecture de ce patient.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Another reader&apos;s read</source>
        <translation>Lecture d&apos;un autre lecteur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Read (view only):</source>
        <translation>Lecture (consultation seule)&#xa0;:</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Viewing {reader}&apos;s read: view only, nothing you do changes it.</source>
        <translation>Lecture de {reader}&#xa0;: consultation seule, rien de ce que vous faites ne la modifie.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Back to my read</source>
        <translation>Revenir à ma lecture</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>No study in the active viewport.</source>
        <translation>Aucun examen dans la vue active.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>This study is already a timepoint of the RECIST read.</source>
        <translation>Cet examen est déjà une évaluation de la lecture RECIST.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{label} ({modality}) is now a timepoint of the RECIST read.</source>
        <translation>{label} ({modality}) est maintenant une évaluation de la lecture RECIST.</translation>
    </message>
    <message>
        <location line="+92"/>
        <source>&amp;Undo {what}</source>
        <translation>&amp;Annuler&#xa0;: {what}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Redo {what}</source>
        <translation>&amp;Rétablir&#xa0;: {what}</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Read saved.</source>
        <translation>Lecture enregistrée.</translation>
    </message>
    <message>
        <location line="+64"/>
        <source>Read owner</source>
        <translation>Propriétaire de la lecture</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>Read not saved</source>
        <translation>Lecture non enregistrée</translation>
    </message>
</context>
<context>
    <name>ReadingController</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/reading.py" line="+60"/>
        <source>No series loaded.
Double-click a series in the study browser, or drag it here.</source>
        <translation>Aucune série chargée.
Double-cliquez sur une série dans le navigateur d&apos;examens, ou faites-la glisser ici.</translation>
    </message>
    <message>
        <location line="+51"/>
        <source>Loading %p%</source>
        <translation>Chargement %p%</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel loading</source>
        <translation>Annuler le chargement</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>&amp;Protocols</source>
        <translation>&amp;Protocoles</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{name}: {description}</source>
        <translation>{name}&#xa0;: {description}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Compare the current CT with another prior...</source>
        <translation>Comparer la TDM actuelle à un autre examen antérieur...</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Mark the active viewport&apos;s study as pre-treatment baseline</source>
        <translation>Marquer l&apos;examen de la vue active comme référence pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Mark the active viewport&apos;s study as inclusion scan</source>
        <translation>Marquer l&apos;examen de la vue active comme examen d&apos;inclusion</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Link timepoints: click the same anatomy in two viewports</source>
        <translation>Lier les évaluations&#xa0;: cliquer sur la même structure dans deux vues</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Forget timepoint links</source>
        <translation>Oublier les liens entre évaluations</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Linked scrolling (same frame of reference or linked timepoints)</source>
        <translation>Défilement lié (même référentiel ou évaluations liées)</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Import failed: {reason}</source>
        <translation>Échec de l&apos;import&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>1 file skipped: </source>
        <translation>1 fichier ignoré&#xa0;: </translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} files skipped: </source>
        <translation>{n} fichiers ignorés&#xa0;: </translation>
    </message>
    <message>
        <location line="+18"/>
        <source>the study index cannot give this series: {reason}</source>
        <translation>l&apos;index des examens ne peut pas fournir cette série&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>not loadable</source>
        <translation>non chargeable</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Loaded {title}: {n} images</source>
        <translation>{title} chargée&#xa0;: {n} images</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>Loading cancelled</source>
        <translation>Chargement annulé</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Cannot load {title}: {reason}</source>
        <translation>Impossible de charger {title}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+80"/>
        <source>{protocol}: {slots}</source>
        <translation>{protocol}&#xa0;: {slots}</translation>
    </message>
    <message>
        <location line="+9"/>
        <source> (missing: {what})</source>
        <translation> (manquant&#xa0;: {what})</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>. They are aligned automatically once loaded (Ctrl+K links two by hand instead).</source>
        <translation>. Elles sont alignées automatiquement une fois chargées (Ctrl+K en lie deux à la main à la place).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>. Their frames of reference are not linked yet: Ctrl+K, then click the same anatomy in both (or register them).</source>
        <translation>. Leurs référentiels ne sont pas encore liés&#xa0;: Ctrl+K, puis cliquez sur la même structure dans les deux (ou recalez-les).</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>{reason}
(this view comes with the PET/MRI work)</source>
        <translation>{reason}
(cette vue vient avec le travail TEP/IRM)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No series for this slot</source>
        <translation>Aucune série pour cet emplacement</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>No CT of this patient in the study store.</source>
        <translation>Aucune TDM de ce patient dans le stockage d&apos;examens.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Compare with a prior</source>
        <translation>Comparer à un examen antérieur</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Prior CT:</source>
        <translation>TDM antérieure&#xa0;:</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Load a series of the study first.</source>
        <translation>Chargez d&apos;abord une série de l&apos;examen.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Study marked as {role}.</source>
        <translation>Examen marqué comme {role}.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Offset: click a landmark in one timepoint, then the same one in the other.</source>
        <translation>Décalage&#xa0;: cliquez sur un repère dans une évaluation, puis sur le même dans l&apos;autre.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source> For this session only: no read open.</source>
        <translation> Pour cette session seulement&#xa0;: aucune lecture ouverte.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Timepoints linked: offset ({x:.1f}, {y:.1f}, {z:.1f}) mm LPS, kept with the read (undo removes it).</source>
        <translation>Évaluations liées&#xa0;: décalage ({x:.1f}&#xa0;; {y:.1f}&#xa0;; {z:.1f}) mm LPS, conservé avec la lecture (Annuler le retire).</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Forget a timepoint link</source>
        <translation>Oublier un lien entre évaluations</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Timepoint links forgotten.</source>
        <translation>Liens entre évaluations oubliés.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No timepoint links.</source>
        <translation>Aucun lien entre évaluations.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Linked scrolling on</source>
        <translation>Défilement lié activé</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Linked scrolling off</source>
        <translation>Défilement lié désactivé</translation>
    </message>
</context>
<context>
    <name>RegistrationPanel</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/registration_panel.py" line="+94"/>
        <source>Registration PET -&gt; {base}</source>
        <translation>Recalage TEP -&gt; {base}</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>base</source>
        <translation>base</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Automatic rigid registration</source>
        <translation>Recalage rigide automatique</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>rot</source>
        <translation>rot</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Manual nudge (PET moves; keys: arrows, PgUp/PgDn, Shift rotates)</source>
        <translation>Ajustement manuel (la TEP bouge&#xa0;; touches&#xa0;: flèches, PgUp/PgDn, Maj fait tourner)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Metric: -</source>
        <translation>Métrique&#xa0;: -</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Accept</source>
        <translation>Accepter</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reject</source>
        <translation>Rejeter</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Same frame of reference: fused directly (registration optional).</source>
        <translation>Même référentiel&#xa0;: fusion directe (recalage facultatif).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Different frames of reference: an accepted transform links them.</source>
        <translation>Référentiels différents&#xa0;: une transformation acceptée les relie.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Different frames of reference: NOT fused until a registration is accepted.</source>
        <translation>Référentiels différents&#xa0;: PAS de fusion tant qu&apos;un recalage n&apos;est pas accepté.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Base -&gt; PET: rotation ({ax:.2f}, {ay:.2f}, {az:.2f}) deg, translation ({x:.1f}, {y:.1f}, {z:.1f}) mm</source>
        <translation>Base -&gt; TEP&#xa0;: rotation ({ax:.2f}&#xa0;; {ay:.2f}&#xa0;; {az:.2f})°, translation ({x:.1f}&#xa0;; {y:.1f}&#xa0;; {z:.1f}) mm</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Metric (Mattes MI, lower is better): {value}</source>
        <translation>Métrique (IM de Mattes, plus bas = meilleur)&#xa0;: {value}</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Registering (mutual information, 3 resolution levels)...</source>
        <translation>Recalage en cours (information mutuelle, 3 niveaux de résolution)...</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Registration cancelled.</source>
        <translation>Recalage annulé.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Registration failed: {reason}</source>
        <translation>Échec du recalage&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Level {level}/3, iteration {iteration}: metric {metric:.4f}</source>
        <translation>Niveau {level}/3, itération {iteration}&#xa0;: métrique {metric:.4f}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Automatic registration done in {seconds:.1f} s ({iterations} iterations): check the overlay, then Accept or Reject.</source>
        <translation>Recalage automatique fait en {seconds:.1f} s ({iterations} itérations)&#xa0;: vérifiez la superposition, puis Accepter ou Rejeter.</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Metric: (updated when the drag ends)</source>
        <translation>Métrique&#xa0;: (mise à jour à la fin du glisser)</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>The transform could not be stored with the read.</source>
        <translation>La transformation n&apos;a pas pu être enregistrée avec la lecture.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Transform accepted: every linked view uses it.</source>
        <translation>Transformation acceptée&#xa0;: toutes les vues liées l&apos;utilisent.</translation>
    </message>
</context>
<context>
    <name>Response</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+6"/>
        <source>CR</source>
        <translation>RC</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PR</source>
        <translation>RP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SD</source>
        <translation>MS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PD</source>
        <translation>MP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NE</source>
        <translation>NE</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-CR/Non-PD</source>
        <translation>Non-RC/Non-MP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NA</source>
        <translation>NA</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>iCR</source>
        <translation>iRC</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>iPR</source>
        <translation>iRP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>iSD</source>
        <translation>iMS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>iUPD</source>
        <translation>iUPD</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>iCPD</source>
        <translation>iCPD</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-iCR/Non-iUPD</source>
        <translation>Non-iRC/Non-iUPD</translation>
    </message>
</context>
<context>
    <name>ResponseDock</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/panels/response_panel.py" line="+462"/>
        <source>Response (RECIST 1.1)</source>
        <translation>Réponse (RECIST 1.1)</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>&amp;Eligibility (NAMECAR checklist)...</source>
        <translation>&amp;Éligibilité (liste de critères NAMECAR)...</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Show &amp;response panel (RECIST)</source>
        <translation>Afficher le panneau de &amp;réponse (RECIST)</translation>
    </message>
</context>
<context>
    <name>ResponseName</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+40"/>
        <source>complete response</source>
        <translation>réponse complète</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>partial response</source>
        <translation>réponse partielle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>stable disease</source>
        <translation>maladie stable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>progressive disease</source>
        <translation>progression</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not evaluable</source>
        <translation>non évaluable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>non-CR/non-PD</source>
        <translation>non-RC/non-MP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not applicable</source>
        <translation>non applicable</translation>
    </message>
</context>
<context>
    <name>ResponsePanel</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/panels/response_panel.py" line="-442"/>
        <source>Timepoint</source>
        <translation>Évaluation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Date</source>
        <translation>Date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sum</source>
        <translation>Somme</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>vs baseline</source>
        <translation>vs référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nadir</source>
        <translation>Nadir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>vs nadir</source>
        <translation>vs nadir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Target</source>
        <translation>Cibles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-target</source>
        <translation>Non cibles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New lesions</source>
        <translation>Nouvelles lésions</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overall</source>
        <translation>Globale</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason</source>
        <translation>Motif</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>none</source>
        <translation>aucune</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>equivocal</source>
        <translation>douteuses</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>yes</source>
        <translation>oui</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>{sum} (incomplete)</source>
        <translation>{sum} (incomplète)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>baseline</source>
        <translation>référence</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>Pre-treatment</source>
        <translation>Pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion (re-baseline)</source>
        <translation>Inclusion (nouvelle référence)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>RECIST baseline of the rows below, stored with the read. NAMECAR eligibility always compares the pre-treatment baseline with the inclusion scan; the PFS follow-up may be re-baselined at the inclusion (randomisation) scan.</source>
        <translation>Référence RECIST des lignes ci-dessous, enregistrée avec la lecture. L&apos;éligibilité NAMECAR compare toujours la référence pré-thérapeutique à l&apos;examen d&apos;inclusion&#xa0;; le suivi de la SSP peut repartir d&apos;une nouvelle référence à l&apos;examen d&apos;inclusion (randomisation).</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Reasons</source>
        <translation>Motifs</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>RECIST baseline:</source>
        <translation>Référence RECIST&#xa0;:</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Timepoints</source>
        <translation>Évaluations</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Charts (sum, spider)</source>
        <translation>Graphiques (somme, araignée)</translation>
    </message>
    <message>
        <location line="+64"/>
        <source>Timepoints: {text}</source>
        <translation>Évaluations&#xa0;: {text}</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>NAMECAR eligibility: {text}</source>
        <translation>Éligibilité NAMECAR&#xa0;: {text}</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+84"/>
        <source>Cannot evaluate: {error}</source>
        <translation>Évaluation impossible&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="-83"/>
        <location line="+84"/>
        <source>Note: {note}</source>
        <translation>Remarque&#xa0;: {note}</translation>
    </message>
    <message>
        <location line="-28"/>
        <source> (baseline)</source>
        <translation> (référence)</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+30"/>
        <location line="+50"/>
        <source>undated</source>
        <translation>non datée</translation>
    </message>
    <message>
        <location line="-56"/>
        <source>NAMECAR: {text}</source>
        <translation>NAMECAR&#xa0;: {text}</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Best overall response: {response}</source>
        <translation>Meilleure réponse globale&#xa0;: {response}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>No progression</source>
        <translation>Pas de progression</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>First PD: {when} ({label})</source>
        <translation>Première MP&#xa0;: {when} ({label})</translation>
    </message>
</context>
<context>
    <name>ReviewController</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/signing.py" line="-134"/>
        <source>Signed read</source>
        <translation>Lecture signée</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>&amp;Review</source>
        <translation>&amp;Relecture</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>&amp;Worklist</source>
        <translation>Liste de &amp;travail</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Sign timepoint read...</source>
        <translation>&amp;Signer la lecture d&apos;une évaluation...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Unlock signed timepoint (new version)...</source>
        <translation>&amp;Déverrouiller une évaluation signée (nouvelle version)...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Audit trail...</source>
        <translation>&amp;Piste d&apos;audit...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>A&amp;djudicate case...</source>
        <translation>&amp;Adjuger un dossier...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Export read (CSV, JSON, SR, PDF)...</source>
        <translation>&amp;Exporter la lecture (CSV, JSON, SR, PDF)...</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Assign &amp;cases (administrator)...</source>
        <translation>Attribuer des &amp;dossiers (administrateur)...</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Site default: blinded mode</source>
        <translation>Par défaut sur le site&#xa0;: mode aveugle</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>User: {name} ({roles})</source>
        <translation>Utilisateur&#xa0;: {name} ({roles})</translation>
    </message>
    <message>
        <location line="+4"/>
        <source> - single-user site</source>
        <translation> - site mono-utilisateur</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>blinded</source>
        <translation>aveugle</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Blinded mode is required at this reading centre; only an administrator can turn it off.</source>
        <translation>Le mode aveugle est obligatoire dans ce centre de lecture&#xa0;; seul un administrateur peut le désactiver.</translation>
    </message>
    <message>
        <location line="+66"/>
        <source>Signed and locked: {labels} (by {who}). Edits of these timepoints are refused; Review &gt; Unlock asks for a reason and keeps this version.</source>
        <translation>Signé et verrouillé&#xa0;: {labels} (par {who}). Les modifications de ces évaluations sont refusées&#xa0;; Relecture &gt; Déverrouiller demande un motif et conserve cette version.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Locked: {labels}</source>
        <translation>Verrouillé&#xa0;: {labels}</translation>
    </message>
    <message>
        <location line="+21"/>
        <location line="+6"/>
        <source>Draft</source>
        <translation>Brouillon</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>Draft; not read: {labels}</source>
        <translation>Brouillon&#xa0;; non lu&#xa0;: {labels}</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Nothing to sign: this read has no timepoint yet.</source>
        <translation>Rien à signer&#xa0;: cette lecture n&apos;a encore aucune évaluation.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Every timepoint of this read is already signed.</source>
        <translation>Toutes les évaluations de cette lecture sont déjà signées.</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Tick &quot;{meaning}&quot; to sign.</source>
        <translation>Cochez «&#xa0;{meaning}&#xa0;» pour signer.</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Signed {label} (version {version}): {meaning}.</source>
        <translation>{label} signée (version {version})&#xa0;: {meaning}.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>No timepoint of this read is signed.</source>
        <translation>Aucune évaluation de cette lecture n&apos;est signée.</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Unlocked {label}: the signed version is kept; signing again writes version {version}.</source>
        <translation>{label} déverrouillée&#xa0;: la version signée est conservée&#xa0;; signer à nouveau écrira la version {version}.</translation>
    </message>
    <message>
        <location line="+101"/>
        <source>Exported {format} to {path}</source>
        <translation>{format} exporté vers {path}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>, key images to {path}</source>
        <translation>, images clés vers {path}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source> (blinded)</source>
        <translation> (aveugle)</translation>
    </message>
</context>
<context>
    <name>Role</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-113"/>
        <source>reader</source>
        <translation>lecteur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>adjudicator</source>
        <translation>adjudicateur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>site investigator</source>
        <translation>investigateur du site</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>administrator</source>
        <translation>administrateur</translation>
    </message>
</context>
<context>
    <name>SeriesVolumes</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/series_volumes.py" line="+70"/>
        <source>This series has no next volume</source>
        <translation>Cette série n&apos;a pas de volume suivant</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This series has no previous volume</source>
        <translation>Cette série n&apos;a pas de volume précédent</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>This series has one volume: nothing to play</source>
        <translation>Cette série n&apos;a qu&apos;un volume&#xa0;: rien à faire défiler</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Playing the volumes of the series (Ctrl+Shift+C stops)</source>
        <translation>Défilement des volumes de la série (Ctrl+Maj+C l&apos;arrête)</translation>
    </message>
</context>
<context>
    <name>Severity</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/dicom_texts.py" line="+18"/>
        <source>info</source>
        <translation>info</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>warning</source>
        <translation>avertissement</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>error</source>
        <translation>erreur</translation>
    </message>
</context>
<context>
    <name>Shortcuts</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/main_window.py" line="-799"/>
        <source>File</source>
        <translation>Fichier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Edit</source>
        <translation>Édition</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>View</source>
        <translation>Affichage</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Window</source>
        <translation>Fenêtre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Navigate</source>
        <translation>Navigation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tools</source>
        <translation>Outils</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Protocols</source>
        <translation>Protocoles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Review</source>
        <translation>Relecture</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Help</source>
        <translation>Aide</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Next slice</source>
        <translation>Coupe suivante</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Down / Right / wheel down</source>
        <translation>Bas / Droite / molette vers le bas</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Previous slice</source>
        <translation>Coupe précédente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Up / Left / wheel up</source>
        <translation>Haut / Gauche / molette vers le haut</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>10 slices forward / back</source>
        <translation>10 coupes en avant / en arrière</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Page Down / Page Up</source>
        <translation>Page suivante / Page précédente</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>First / last slice</source>
        <translation>Première / dernière coupe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Home / End</source>
        <translation>Début / Fin</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Zoom at cursor</source>
        <translation>Zoom sous le curseur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ctrl + wheel</source>
        <translation>Ctrl + molette</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Pan</source>
        <translation>Déplacement</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Middle drag</source>
        <translation>Glisser avec le bouton du milieu</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Window / level</source>
        <translation>Fenêtre / niveau</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Right drag (horizontal: width, vertical: level)</source>
        <translation>Glisser à droite (horizontal&#xa0;: largeur, vertical&#xa0;: niveau)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Place crosshair</source>
        <translation>Placer le réticule</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Left click (crosshair tool)</source>
        <translation>Clic gauche (outil réticule)</translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <location line="+16"/>
        <source>Keyboard shortcuts</source>
        <translation>Raccourcis clavier</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Menu</source>
        <translation>Menu</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Action</source>
        <translation>Action</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Key</source>
        <translation>Clé</translation>
    </message>
</context>
<context>
    <name>SignDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/signing.py" line="-698"/>
        <source>Sign timepoint read</source>
        <translation>Signer la lecture d&apos;une évaluation</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Timepoint:</source>
        <translation>Évaluation&#xa0;:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reader:</source>
        <translation>Lecteur&#xa0;:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>(unknown)</source>
        <translation>(inconnu)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Meaning of this electronic signature:&lt;br&gt;&lt;b&gt;&amp;ldquo;{meaning}&amp;rdquo;&lt;/b&gt;&lt;br&gt;The signed timepoint is locked; changing it later needs a reason and keeps this version.</source>
        <translation>Signification de cette signature électronique&#xa0;:&lt;br&gt;&lt;b&gt;&amp;laquo;&amp;nbsp;{meaning}&amp;nbsp;&amp;raquo;&lt;/b&gt;&lt;br&gt;L&apos;évaluation signée est verrouillée&#xa0;; la modifier ensuite demandera un motif et conservera cette version.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Why you sign although earlier timepoints are not read (required)</source>
        <translation>Pourquoi vous signez alors que des évaluations antérieures ne sont pas lues (obligatoire)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Your password, again</source>
        <translation>Votre mot de passe, à nouveau</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Password:</source>
        <translation>Mot de passe&#xa0;:</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Sign</source>
        <translation>Signer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>{labels} is not read: the nadir this timepoint is compared with may be wrong. Read it first, or say why you sign anyway (kept in the audit trail).</source>
        <translation>{labels} n&apos;est pas lue&#xa0;: le nadir auquel cette évaluation est comparée peut être faux. Lisez-la d&apos;abord, ou indiquez pourquoi vous signez malgré tout (conservé dans la piste d&apos;audit).</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{labels} are not read: the nadir this timepoint is compared with may be wrong. Read them first, or say why you sign anyway (kept in the audit trail).</source>
        <translation>{labels} ne sont pas lues&#xa0;: le nadir auquel cette évaluation est comparée peut être faux. Lisez-les d&apos;abord, ou indiquez pourquoi vous signez malgré tout (conservé dans la piste d&apos;audit).</translation>
    </message>
</context>
<context>
    <name>Signature</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+126"/>
        <source>I confirm this assessment</source>
        <translation>Je confirme cette évaluation</translation>
    </message>
</context>
<context>
    <name>Site</name>
    <message>
        <location line="-120"/>
        <source>lung</source>
        <translation>poumon</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>liver</source>
        <translation>foie</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lymph node</source>
        <translation>ganglion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kidney</source>
        <translation>rein</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>adrenal</source>
        <translation>surrénale</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>bone</source>
        <translation>os</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pancreas</source>
        <translation>pancréas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>brain</source>
        <translation>cerveau</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>peritoneum</source>
        <translation>péritoine</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>soft tissue</source>
        <translation>tissus mous</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>other</source>
        <translation>autre</translation>
    </message>
</context>
<context>
    <name>SliceOrientation</name>
    <message>
        <location line="+80"/>
        <source>acquisition</source>
        <translation>acquisition</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>axial</source>
        <translation>axial</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>coronal</source>
        <translation>coronal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>sagittal</source>
        <translation>sagittal</translation>
    </message>
</context>
<context>
    <name>SliceViewport</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/viewport.py" line="+142"/>
        <source>stored values (raw, not SUV)</source>
        <translation>valeurs stockées (brutes, pas en SUV)</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>No series loaded.
Double-click a series in the study browser.</source>
        <translation>Aucune série chargée.
Double-cliquez sur une série dans le navigateur d&apos;examens.</translation>
    </message>
    <message>
        <location line="+431"/>
        <source>Cannot show this stack:
{reason}</source>
        <translation>Impossible d&apos;afficher cette pile&#xa0;:
{reason}</translation>
    </message>
    <message>
        <location line="+127"/>
        <source>Im: {index}/{count}</source>
        <translation>Im&#xa0;: {index}/{count}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Pos: {mm:.1f} mm</source>
        <translation>Pos&#xa0;: {mm:.1f} mm</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>W: {width:.0f} L: {level:.0f}</source>
        <translation>F&#xa0;: {width:.0f} N&#xa0;: {level:.0f}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source> inv</source>
        <translation> inv</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Unit: {unit}</source>
        <translation>Unité&#xa0;: {unit}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cine {fps} fps</source>
        <translation>Ciné {fps} im/s</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Zoom: {zoom:.2f}</source>
        <translation>Zoom&#xa0;: {zoom:.2f}</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>outside volume</source>
        <translation>hors volume</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>({x:.1f}, {y:.1f}, {z:.1f}) mm LPS</source>
        <translation>({x:.1f}&#xa0;; {y:.1f}&#xa0;; {z:.1f}) mm LPS</translation>
    </message>
</context>
<context>
    <name>StackLoadWorker</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/loading.py" line="+78"/>
        <source>the stack has no images</source>
        <translation>la pile n&apos;a aucune image</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>not loadable</source>
        <translation>non chargeable</translation>
    </message>
</context>
<context>
    <name>StudyBrowser</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/study_browser.py" line="-271"/>
        <source>Patient name or ID</source>
        <translation>Nom ou ID du patient</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Date: 2025, 202507, A-B</source>
        <translation>Date&#xa0;: 2025, 202507, A-B</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Study date: YYYY, YYYYMM, YYYYMMDD, or a range such as 20250101-20250630</source>
        <translation>Date d&apos;examen&#xa0;: AAAA, AAAAMM, AAAAMMJJ, ou un intervalle comme 20250101-20250630</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Any</source>
        <translation>Toutes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Import...</source>
        <translation>Importer...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Import a folder, DICOMDIR or zip (Ctrl+I)</source>
        <translation>Importer un dossier, un DICOMDIR ou un zip (Ctrl+I)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Patient / study / series</source>
        <translation>Patient / examen / série</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mod</source>
        <translation>Mod.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Images</source>
        <translation>Images</translation>
    </message>
    <message>
        <location line="+57"/>
        <source>Date filter: YYYY, YYYYMM, YYYYMMDD or A-B</source>
        <translation>Filtre de date&#xa0;: AAAA, AAAAMM, AAAAMMJJ ou A-B</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>{subject} (blinded)</source>
        <translation>{subject} (aveugle)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Day {n}</source>
        <translation>J{n}</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Day ?</source>
        <translation>J?</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{description}
Modalities: {modalities}</source>
        <translation>{description}
Modalités&#xa0;: {modalities}</translation>
    </message>
    <message>
        <location line="+44"/>
        <source> (localizer)</source>
        <translation> (repérage)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source> (not loadable)</source>
        <translation> (non chargeable)</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>{series}: {n} volumes ({labels})
Double-click opens the first; Ctrl+Right / Ctrl+Left step through them at the same slice</source>
        <translation>{series}&#xa0;: {n} volumes ({labels})
Un double-clic ouvre le premier&#xa0;; Ctrl+Droite / Ctrl+Gauche les parcourent à la même coupe</translation>
    </message>
    <message>
        <location line="-56"/>
        <source>{patients}, {studies}, {series} series</source>
        <translation>{patients}, {studies}, {series} séries</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1 patient</source>
        <translation>1 patient</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} patients</source>
        <translation>{n} patients</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1 study</source>
        <translation>1 examen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} studies</source>
        <translation>{n} examens</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>No studies match. Import a folder, DICOMDIR or zip (Ctrl+I).</source>
        <translation>Aucun examen ne correspond. Importez un dossier, un DICOMDIR ou un zip (Ctrl+I).</translation>
    </message>
</context>
<context>
    <name>StudyRole</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-97"/>
        <source>pre-treatment baseline</source>
        <translation>référence pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>inclusion</source>
        <translation>inclusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>follow-up</source>
        <translation>suivi</translation>
    </message>
</context>
<context>
    <name>SuvEntryDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/fusion/suv_dialog.py" line="+43"/>
        <source>SUV: value missing from the PET header</source>
        <translation>SUV&#xa0;: valeur absente de l&apos;en-tête TEP</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Enter the value from the injection record (recorded as reader-entered).</source>
        <translation>Saisissez la valeur de la fiche d&apos;injection (enregistrée comme saisie par le lecteur).</translation>
    </message>
    <message>
        <location line="+52"/>
        <location line="+5"/>
        <source>PET not shown in SUV: {reason}</source>
        <translation>TEP non affichée en SUV&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Cannot load the PET: {reason}</source>
        <translation>Impossible de charger la TEP&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>PET not shown in SUV: values still missing after several entries.</source>
        <translation>TEP non affichée en SUV&#xa0;: valeurs toujours manquantes après plusieurs saisies.</translation>
    </message>
</context>
<context>
    <name>Task</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+67"/>
        <source>read</source>
        <translation>lecture</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>adjudicate</source>
        <translation>adjudication</translation>
    </message>
</context>
<context>
    <name>Theme</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/theme.py" line="+22"/>
        <source>Dark (reading room)</source>
        <translation>Sombre (salle de lecture)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Light</source>
        <translation>Clair</translation>
    </message>
</context>
<context>
    <name>TimepointRole</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="-42"/>
        <source>pre treatment baseline</source>
        <translation>référence pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>inclusion</source>
        <translation>inclusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>follow up</source>
        <translation>suivi</translation>
    </message>
</context>
<context>
    <name>UndoToast</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/tools/assign_popup.py" line="+147"/>
        <source>Undo</source>
        <translation>Annuler</translation>
    </message>
</context>
<context>
    <name>UnlockDialog</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/signing.py" line="+22"/>
        <source>Unlock signed timepoint (new version)</source>
        <translation>Déverrouiller une évaluation signée (nouvelle version)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{timepoint}, signed by {user}, version {version}</source>
        <translation>{timepoint}, signée par {user}, version {version}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Timepoint:</source>
        <translation>Évaluation&#xa0;:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The signed version is kept. Your changes become the next version when the timepoint is signed again. Say why it must change:</source>
        <translation>La version signée est conservée. Vos modifications deviendront la version suivante quand l&apos;évaluation sera signée à nouveau. Indiquez pourquoi elle doit changer&#xa0;:</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Reason (required)</source>
        <translation>Motif (obligatoire)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Unlock</source>
        <translation>Déverrouiller</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
</context>
<context>
    <name>ViewportLoader</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/loading.py" line="+88"/>
        <source>Loading {title}...</source>
        <translation>Chargement de {title}...</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Loading...</source>
        <translation>Chargement...</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>Loading {title}: {done}/{total} images</source>
        <translation>Chargement de {title}&#xa0;: {done}/{total} images</translation>
    </message>
</context>
<context>
    <name>WindowPreset</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+83"/>
        <source>Soft tissue</source>
        <translation>Tissus mous</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lung</source>
        <translation>Poumon</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bone</source>
        <translation>Os</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Liver</source>
        <translation>Foie</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mediastinum</source>
        <translation>Médiastin</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Auto (1st-99th percentile)</source>
        <translation>Auto (1er-99e centile)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PET SUV 0-N inverted</source>
        <translation>TEP SUV 0-N inversée</translation>
    </message>
</context>
<context>
    <name>WorklistDock</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/worklist.py" line="-414"/>
        <source>Worklist</source>
        <translation>Liste de travail</translation>
    </message>
    <message>
        <location line="+69"/>
        <source>, {s:.0f} s left</source>
        <translation>, {s:.0f} s restantes</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Prefetching {patient}: study {i} of {n}, {done}/{total} images, {rate:.0f} MB/s{left}</source>
        <translation>Préchargement de {patient} : examen {i} sur {n}, {done}/{total} images, {rate:.0f} Mo/s{left}</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Prefetch paused: disk budget full ({used:.1f} of {budget:.1f} GB)</source>
        <translation>Préchargement suspendu : espace disque alloué plein ({used:.1f} sur {budget:.1f} Go)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Prefetch failed: {reason}</source>
        <translation>Échec du préchargement : {reason}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Next cases prefetched ({used:.1f} GB local)</source>
        <translation>Cas suivants préchargés ({used:.1f} Go en local)</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Fetching the studies of this case...</source>
        <translation>Récupération des examens de ce cas...</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Fetching images</source>
        <translation>Récupération des images</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>{done} of {total} images, {rate:.0f} MB/s, {left:.0f} s left</source>
        <translation>{done} images sur {total}, {rate:.0f} Mo/s, {left:.0f} s restantes</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Not every study of this case arrived; open it again to resume.</source>
        <translation>Tous les examens de ce cas ne sont pas arrivés ; rouvrez-le pour reprendre.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Fetching failed: {reason}</source>
        <translation>Échec de la récupération : {reason}</translation>
    </message>
    <message>
        <location line="+63"/>
        <source>Opened {subject} {timepoint}</source>
        <translation>{subject} {timepoint} ouvert</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>No images of this case in the study index: import them (File &gt; Import).</source>
        <translation>Aucune image de ce dossier dans l&apos;index des examens&#xa0;: importez-les (Fichier &gt; Importer).</translation>
    </message>
</context>
<context>
    <name>WorklistPanel</name>
    <message>
        <location line="-424"/>
        <source>Subject</source>
        <translation>Sujet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Timepoint</source>
        <translation>Évaluation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Task</source>
        <translation>Tâche</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>Statut</translation>
    </message>
    <message>
        <location line="+83"/>
        <source>Open case</source>
        <translation>Ouvrir le dossier</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Refresh</source>
        <translation>Actualiser</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>&lt;b&gt;{user}&lt;/b&gt;: {n} case(s), {todo} to do</source>
        <translation>&lt;b&gt;{user}&lt;/b&gt;&#xa0;: {n} dossier(s), {todo} à faire</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Select a case first.</source>
        <translation>Sélectionnez d&apos;abord un dossier.</translation>
    </message>
</context>
<context>
    <name>_Chart</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/panels/charts.py" line="+128"/>
        <location line="+334"/>
        <source>No response to chart yet</source>
        <translation>Aucune réponse à représenter pour le moment</translation>
    </message>
    <message>
        <location line="-332"/>
        <location line="+334"/>
        <source>Not evaluable: see the message above</source>
        <translation>Non évaluable&#xa0;: voir le message ci-dessus</translation>
    </message>
    <message>
        <location line="-238"/>
        <source>Sum of target diameters</source>
        <translation>Somme des diamètres des cibles</translation>
    </message>
    <message>
        <location line="+27"/>
        <location line="+313"/>
        <source>{response} ≤ {mm:.1f} mm (-30%)</source>
        <translation>{response} ≤ {mm:.1f} mm (-30&#xa0;%)</translation>
    </message>
    <message>
        <location line="-283"/>
        <location line="+305"/>
        <source>{response} ≥ {mm:.1f} mm</source>
        <translation>{response} ≥ {mm:.1f} mm</translation>
    </message>
    <message>
        <location line="-275"/>
        <location line="+323"/>
        <source>nadir</source>
        <translation>nadir</translation>
    </message>
    <message>
        <location line="-317"/>
        <source>Spider plot: change of each target from baseline</source>
        <translation>Graphique en araignée&#xa0;: variation de chaque cible depuis la référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>% from baseline</source>
        <translation>% vs référence</translation>
    </message>
    <message>
        <location line="+43"/>
        <location line="+321"/>
        <source> (primary)</source>
        <translation> (primitive)</translation>
    </message>
    <message>
        <location line="-64"/>
        <source>{label}{when}: sum {mm:.1f} mm</source>
        <translation>{label}{when} : somme {mm:.1f} mm</translation>
    </message>
    <message>
        <location line="+82"/>
        <source>{lesion} at {label}: {pct:+.1f}% from baseline</source>
        <translation>{lesion} à {label} : {pct:+.1f} % par rapport à la référence</translation>
    </message>
</context>
<context>
    <name>alignment</name>
    <message>
        <location filename="../../src/namecar_viewer/app/alignment.py" line="+222"/>
        <source>Align {moving} to {fixed}</source>
        <translation>Aligner {moving} sur {fixed}</translation>
    </message>
    <message>
        <location line="+98"/>
        <source>Align {n} timepoints to {fixed}</source>
        <translation>Aligner {n} évaluations sur {fixed}</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/app_texts.py" line="+94"/>
        <source>CR</source>
        <translation>RC</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PR</source>
        <translation>RP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SD</source>
        <translation>MS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PD</source>
        <translation>MP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NE</source>
        <translation>NE</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-CR/Non-PD</source>
        <translation>Non-RC/Non-MP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Table 1</source>
        <translation>tableau 1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Table 2</source>
        <translation>tableau 2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>baseline</source>
        <translation>référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new-lesion target when first seen</source>
        <translation>cible de nouvelle lésion à sa première détection</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Eligible</source>
        <translation>Éligible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not eligible</source>
        <translation>Non éligible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incomplete</source>
        <translation>Incomplet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incomplete: nothing measured yet</source>
        <translation>Incomplet&#xa0;: rien de mesuré pour le moment</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incomplete: no inclusion scan in the read (mark a follow-up timepoint as inclusion)</source>
        <translation>Incomplet&#xa0;: pas d&apos;examen d&apos;inclusion dans la lecture (marquez une évaluation de suivi comme inclusion)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Incomplete: no timepoint recorded in the read yet</source>
        <translation>Incomplet&#xa0;: aucune évaluation enregistrée dans la lecture pour le moment</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incomplete: no lesion recorded in the read yet</source>
        <translation>Incomplet&#xa0;: aucune lésion enregistrée dans la lecture pour le moment</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pre-treatment</source>
        <translation>pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RECIST baseline: pre-treatment</source>
        <translation>Référence RECIST&#xa0;: pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>inclusion, re-baselined for the PFS follow-up (eligibility still uses the pre-treatment baseline)</source>
        <translation>inclusion, nouvelle référence pour le suivi de la SSP (l&apos;éligibilité utilise toujours la référence pré-thérapeutique)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>RECIST baseline: inclusion, re-baselined for the PFS follow-up (eligibility still uses the pre-treatment baseline)</source>
        <translation>Référence RECIST&#xa0;: inclusion, nouvelle référence pour le suivi de la SSP (l&apos;éligibilité utilise toujours la référence pré-thérapeutique)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>RECIST baseline: inclusion</source>
        <translation>Référence RECIST&#xa0;: inclusion</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>RECIST read</source>
        <translation>Lecture RECIST</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The nadir (or a prior you pick) and the previous CT beside the current one, linked.</source>
        <translation>Le nadir (ou un examen antérieur choisi) et la TDM précédente à côté de l&apos;actuelle, liés.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Eligibility</source>
        <translation>Éligibilité</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pre-treatment baseline CT beside the inclusion CT (NAMECAR eligibility: metastatic response).</source>
        <translation>TDM de référence pré-thérapeutique à côté de la TDM d&apos;inclusion (éligibilité NAMECAR&#xa0;: réponse métastatique).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>MRI-PET</source>
        <translation>IRM-TEP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Renal MRI (axial T2) beside the PSMA PET, with fusion and MIP slots.</source>
        <translation>IRM rénale (T2 axiale) à côté de la TEP PSMA, avec fusion et MIP.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>current</source>
        <translation>actuelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>previous</source>
        <translation>précédente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>prior</source>
        <translation>antérieure</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>nadir</source>
        <translation>nadir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>inclusion</source>
        <translation>inclusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>mri</source>
        <translation>irm</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pet</source>
        <translation>tep</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>fusion</source>
        <translation>fusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>mip</source>
        <translation>mip</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Baseline</source>
        <translation>Référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Current</source>
        <translation>Actuelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Prior</source>
        <translation>Antérieure</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nadir</source>
        <translation>Nadir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous</source>
        <translation>Précédente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pre-treatment</source>
        <translation>Pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion</source>
        <translation>Inclusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>MRI: none</source>
        <translation>IRM&#xa0;: aucune</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PET: none</source>
        <translation>TEP&#xa0;: aucune</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fusion PET on MRI</source>
        <translation>Fusion TEP sur IRM</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PET MIP</source>
        <translation>MIP TEP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>marked as baseline</source>
        <translation>marquée comme référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>first CT by study date</source>
        <translation>première TDM par date d&apos;examen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>latest CT by study date</source>
        <translation>dernière TDM par date d&apos;examen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>first CT not fully read yet, in date order</source>
        <translation>première TDM pas encore entièrement lue, par date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>every CT read: the latest</source>
        <translation>toutes les TDM lues&#xa0;: la dernière</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the prior you picked</source>
        <translation>l&apos;examen antérieur choisi</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>smallest sum of target diameters so far</source>
        <translation>plus petite somme des diamètres des cibles à ce jour</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the CT just before the current one</source>
        <translation>la TDM juste avant l&apos;actuelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>marked as pre-treatment baseline</source>
        <translation>marquée comme référence pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>first CT by date</source>
        <translation>première TDM par date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>marked as inclusion scan</source>
        <translation>marquée comme examen d&apos;inclusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>second CT by date</source>
        <translation>deuxième TDM par date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>axial T2 preferred, then dynamic T1, then DWI</source>
        <translation>T2 axiale de préférence, puis T1 dynamique, puis diffusion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>attenuation-corrected PSMA PET</source>
        <translation>TEP PSMA corrigée de l&apos;atténuation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PET over the MRI once registered (PET/MRI work, issue 6)</source>
        <translation>TEP sur l&apos;IRM une fois recalée (travail TEP/IRM, ticket 6)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>rotating MIP of the PET (PET/MRI work, issue 6)</source>
        <translation>MIP rotative de la TEP (travail TEP/IRM, ticket 6)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no CT study</source>
        <translation>aucun examen TDM</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no follow-up CT after the baseline</source>
        <translation>aucune TDM de suivi après la référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no pre-treatment baseline CT</source>
        <translation>aucune TDM de référence pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no inclusion CT after the baseline</source>
        <translation>aucune TDM d&apos;inclusion après la référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no MRI series</source>
        <translation>aucune série IRM</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no PET series</source>
        <translation>aucune série TEP</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Day ?</source>
        <translation>J?</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Wrong user name or password.</source>
        <translation>Nom d&apos;utilisateur ou mot de passe incorrect.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Accounts already exist: log in instead.</source>
        <translation>Des comptes existent déjà&#xa0;: connectez-vous.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The read is not saved yet; it cannot be signed until it is.</source>
        <translation>La lecture n&apos;est pas encore enregistrée&#xa0;; elle ne peut pas être signée avant de l&apos;être.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This timepoint is not signed.</source>
        <translation>Cette évaluation n&apos;est pas signée.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A signed read can only be changed with a reason: say why it must change.</source>
        <translation>Une lecture signée ne peut être modifiée qu&apos;avec un motif&#xa0;: indiquez pourquoi elle doit changer.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>An adjudicator cannot adjudicate a case they read.</source>
        <translation>Un adjudicateur ne peut pas adjuger un dossier qu&apos;il a lu.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Choose one of the two reads.</source>
        <translation>Choisissez l&apos;une des deux lectures.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>An adjudication needs a reason.</source>
        <translation>Une adjudication nécessite un motif.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A lesion label cannot be empty.</source>
        <translation>Le nom d&apos;une lésion ne peut pas être vide.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Patient weight (kg)</source>
        <translation>Poids du patient (kg)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Injected activity (MBq)</source>
        <translation>Activité injectée (MBq)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Injection date and time</source>
        <translation>Date et heure d&apos;injection</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Radionuclide half-life (s)</source>
        <translation>Période du radionucléide (s)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>line</source>
        <translation>ligne</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>bidirectional</source>
        <translation>bidimensionnelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ellipse</source>
        <translation>ellipse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>point</source>
        <translation>point</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>arrow</source>
        <translation>flèche</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>sphere</source>
        <translation>sphère</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>target</source>
        <translation>cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>non_target</source>
        <translation>non cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new</source>
        <translation>nouvelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ancillary</source>
        <translation>ancillaire</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lung</source>
        <translation>poumon</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>liver</source>
        <translation>foie</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lymph node</source>
        <translation>ganglion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kidney</source>
        <translation>rein</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>adrenal</source>
        <translation>surrénale</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>bone</source>
        <translation>os</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pancreas</source>
        <translation>pancréas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>brain</source>
        <translation>cerveau</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>peritoneum</source>
        <translation>péritoine</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>soft tissue</source>
        <translation>tissus mous</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>other</source>
        <translation>autre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>present</source>
        <translation>présente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>absent</source>
        <translation>absente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unequivocal_progression</source>
        <translation>progression sans équivoque</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>too_small</source>
        <translation>trop petite pour être mesurée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not_evaluable</source>
        <translation>non évaluable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>split</source>
        <translation>fragmentée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>coalesced</source>
        <translation>confluente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>equivocal</source>
        <translation>douteuse</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>not answered</source>
        <translation>sans réponse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unknown</source>
        <translation>inconnu</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Baseline: non-target disease only</source>
        <translation>Référence&#xa0;: maladie non cible uniquement</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Baseline (inclusion re-baseline): non-target disease only</source>
        <translation>Référence (nouvelle référence à l&apos;inclusion)&#xa0;: maladie non cible uniquement</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New lesions: unequivocal, PD (sec. 4.3.5)</source>
        <translation>Nouvelles lésions&#xa0;: sans équivoque, MP (sect. 4.3.5)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New lesions: equivocal, not progression unless a later scan confirms it (sec. 4.3.5)</source>
        <translation>Nouvelles lésions&#xa0;: douteuses, pas de progression sauf confirmation sur un examen ultérieur (sect. 4.3.5)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Non-targets CR: every non-target lesion gone</source>
        <translation>Non cibles RC&#xa0;: toutes les lésions non cibles ont disparu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>CR: every non-nodal target gone and every nodal target under 10 mm</source>
        <translation>RC&#xa0;: toutes les cibles non ganglionnaires ont disparu et toutes les cibles ganglionnaires font moins de 10 mm</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NE: no evaluable follow-up</source>
        <translation>NE&#xa0;: aucun suivi évaluable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not eligible: no metastatic lesion recorded at baseline</source>
        <translation>Non éligible&#xa0;: aucune lésion métastatique enregistrée à la référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not eligible: metastatic non-target disease present and no metastatic target to measure shrinkage</source>
        <translation>Non éligible&#xa0;: maladie métastatique non cible présente et aucune cible métastatique pour mesurer la diminution</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Eligible: metastatic CR</source>
        <translation>Éligible&#xa0;: RC métastatique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Eligible: metastatic CR, primary excluded</source>
        <translation>Éligible&#xa0;: RC métastatique, tumeur primitive exclue</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NAMECAR: pre-treatment baseline, no metastatic target</source>
        <translation>NAMECAR&#xa0;: référence pré-thérapeutique, aucune cible métastatique</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NAMECAR: pre-treatment baseline, no metastatic target, primary excluded</source>
        <translation>NAMECAR&#xa0;: référence pré-thérapeutique, aucune cible métastatique, tumeur primitive exclue</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>baseline disease is required (sec. 4.1)</source>
        <translation>une maladie à la référence est requise (sect. 4.1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no target or non-target lesion recorded</source>
        <translation>aucune lésion cible ou non cible enregistrée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>at most 5 target lesions in total (sec. 4.2)</source>
        <translation>au plus 5 lésions cibles au total (sect. 4.2)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>at most 2 target lesions per organ, all lymph nodes one organ (sec. 4.2)</source>
        <translation>au plus 2 lésions cibles par organe, tous les ganglions formant un seul organe (sect. 4.2)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>non-target lesions are recorded as present at baseline (sec. 4.2)</source>
        <translation>les lésions non cibles sont enregistrées comme présentes à la référence (sect. 4.2)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new lesions are judged against the baseline (sec. 4.3.5)</source>
        <translation>les nouvelles lésions sont jugées par rapport à la référence (sect. 4.3.5)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>baseline cannot have new lesions</source>
        <translation>la référence ne peut pas avoir de nouvelles lésions</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>nodes &lt; 10 mm short axis are non-pathological (sec. 3.1.1)</source>
        <translation>les ganglions de petit axe &lt; 10 mm ne sont pas pathologiques (sect. 3.1.1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>nodes 10-15 mm short axis are non-target only (sec. 3.1.1)</source>
        <translation>les ganglions de petit axe entre 10 et 15 mm ne sont que des non cibles (sect. 3.1.1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>nodal targets are measured by their short axis (sec. 3.1.1)</source>
        <translation>les cibles ganglionnaires se mesurent par leur petit axe (sect. 3.1.1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>measured with a line: use the bidirectional tool for the short axis</source>
        <translation>mesurée par une ligne&#xa0;: utilisez l&apos;outil bidimensionnel pour le petit axe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RECIST diameters are measured in the axial plane (sec. 3.1.1)</source>
        <translation>les diamètres RECIST se mesurent dans le plan axial (sect. 3.1.1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>measurements reference images in the store</source>
        <translation>les mesures renvoient à des images du stockage</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>10 mm</source>
        <translation>10 mm</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Day {n}</source>
        <translation>J{n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Subject {code}</source>
        <translation>Sujet {code}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>RECIST baseline: pre-treatment ({when})</source>
        <translation>Référence RECIST&#xa0;: pré-thérapeutique ({when})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pre-treatment ({when})</source>
        <translation>pré-thérapeutique ({when})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RECIST baseline: inclusion ({when}), re-baselined for the PFS follow-up (eligibility still uses the pre-treatment baseline)</source>
        <translation>Référence RECIST&#xa0;: inclusion ({when}), nouvelle référence pour le suivi de la SSP (l&apos;éligibilité utilise toujours la référence pré-thérapeutique)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>inclusion ({when}), re-baselined for the PFS follow-up (eligibility still uses the pre-treatment baseline)</source>
        <translation>inclusion ({when}), nouvelle référence pour le suivi de la SSP (l&apos;éligibilité utilise toujours la référence pré-thérapeutique)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{text} (pre-treatment baseline vs inclusion scan of {date})</source>
        <translation>{text} (référence pré-thérapeutique vs examen d&apos;inclusion du {date})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{text} (pre-treatment baseline vs inclusion scan {label})</source>
        <translation>{text} (référence pré-thérapeutique vs examen d&apos;inclusion {label})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incomplete: the read cannot be evaluated ({violations})</source>
        <translation>Incomplet&#xa0;: la lecture ne peut pas être évaluée ({violations})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The read cannot be turned into a RECIST case: {reason}</source>
        <translation>La lecture ne peut pas être convertie en cas RECIST&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{lesion}: {message} at the inclusion re-baseline; kept as a target (selected at the pre-treatment baseline)</source>
        <translation>{lesion}&#xa0;: {message} à la nouvelle référence d&apos;inclusion&#xa0;; conservée comme cible (choisie à la référence pré-thérapeutique)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{before} is not read: the nadir (and every response after it) may be wrong; still to read: {after}</source>
        <translation>{before} n&apos;est pas lue&#xa0;: le nadir (et chaque réponse qui suit) peut être faux&#xa0;; reste à lire&#xa0;: {after}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{before} are not read: the nadir (and every response after it) may be wrong; still to read: {after}</source>
        <translation>{before} ne sont pas lues&#xa0;: le nadir (et chaque réponse qui suit) peut être faux&#xa0;; reste à lire&#xa0;: {after}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{before} is not read: the nadir (and every response after it) may be wrong</source>
        <translation>{before} n&apos;est pas lue&#xa0;: le nadir (et chaque réponse qui suit) peut être faux</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{before} are not read: the nadir (and every response after it) may be wrong</source>
        <translation>{before} ne sont pas lues&#xa0;: le nadir (et chaque réponse qui suit) peut être faux</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>still to read: {after}</source>
        <translation>reste à lire&#xa0;: {after}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{label} CT {date}</source>
        <translation>{label} TDM {date}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{label}: none</source>
        <translation>{label}&#xa0;: aucune</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>RECIST, read by {reader}</source>
        <translation>RECIST, lu par {reader}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion {n} ({id}) not met: {detail}</source>
        <translation>Inclusion {n} ({id}) non remplie&#xa0;: {detail}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exclusion {n} ({id}) not met: {detail}</source>
        <translation>Exclusion {n} ({id}) non remplie&#xa0;: {detail}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion {n} ({id}) answered no by {by}: {text}</source>
        <translation>Inclusion {n} ({id}) répondue non par {by}&#xa0;: {text}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exclusion {n} ({id}) answered yes by {by}: {text}</source>
        <translation>Exclusion {n} ({id}) répondue oui par {by}&#xa0;: {text}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion {n} ({id}) unknown</source>
        <translation>Inclusion {n} ({id}) inconnue</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exclusion {n} ({id}) unknown</source>
        <translation>Exclusion {n} ({id}) inconnue</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion {n} ({id}) not answered</source>
        <translation>Inclusion {n} ({id}) sans réponse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exclusion {n} ({id}) not answered</source>
        <translation>Exclusion {n} ({id}) sans réponse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inclusion {n} ({id}) {detail}</source>
        <translation>Inclusion {n} ({id}) {detail}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>All {n} inclusion criteria met and none of the {m} exclusion criteria; {text}</source>
        <translation>Les {n} critères d&apos;inclusion sont remplis et aucun des {m} critères d&apos;exclusion&#xa0;; {text}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Inclusion {n}: {answer}</source>
        <translation>Inclusion {n}&#xa0;: {answer}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exclusion {n}: {answer}</source>
        <translation>Exclusion {n}&#xa0;: {answer}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Clear answer to Inclusion {n}</source>
        <translation>Effacer la réponse à l&apos;inclusion {n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Clear answer to Exclusion {n}</source>
        <translation>Effacer la réponse à l&apos;exclusion {n}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>RECIST baseline: {choice}</source>
        <translation>Référence RECIST&#xa0;: {choice}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The {labels} read is signed by {user} ({when} UTC) and locked. To change it, unlock it with a reason (Review &gt; Unlock signed timepoint); a new version is kept.</source>
        <translation>La lecture de {labels} est signée par {user} ({when} UTC) et verrouillée. Pour la modifier, déverrouillez-la avec un motif (Relecture &gt; Déverrouiller une évaluation signée)&#xa0;; une nouvelle version est conservée.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>This read belongs to {owner}; {user} can view it but not change it. File &gt; Start my read opens your own read of this patient.</source>
        <translation>Cette lecture appartient à {owner}&#xa0;; {user} peut la consulter mais pas la modifier. Fichier &gt; Commencer ma lecture ouvre votre propre lecture de ce patient.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{labels} (before {label}) is not read, so the nadir may be wrong: read them first, or say why you sign anyway.</source>
        <translation>{labels} (avant {label}) n&apos;est pas lue, le nadir peut donc être faux&#xa0;: lisez-la d&apos;abord, ou indiquez pourquoi vous signez malgré tout.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{labels} (before {label}) are not read, so the nadir may be wrong: read them first, or say why you sign anyway.</source>
        <translation>{labels} (avant {label}) ne sont pas lues, le nadir peut donc être faux&#xa0;: lisez-les d&apos;abord, ou indiquez pourquoi vous signez malgré tout.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Only the read&apos;s reader ({reader}) can sign it; {user} cannot.</source>
        <translation>Seul le lecteur de cette lecture ({reader}) peut la signer&#xa0;; {user} ne le peut pas.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The {label} read is already signed.</source>
        <translation>La lecture de {label} est déjà signée.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only {user} (who signed) or an administrator can unlock it.</source>
        <translation>Seul {user} (qui a signé) ou un administrateur peut la déverrouiller.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{user} has no password yet: an administrator must set one.</source>
        <translation>{user} n&apos;a pas encore de mot de passe&#xa0;: un administrateur doit en définir un.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A password needs at least {n} characters.</source>
        <translation>Un mot de passe doit comporter au moins {n} caractères.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{user} is not an adjudicator.</source>
        <translation>{user} n&apos;est pas adjudicateur.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The label {label} is already used by another lesion.</source>
        <translation>Le nom {label} est déjà utilisé par une autre lésion.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{label}: signed by {user} on {date} {time} UTC, version {version}</source>
        <translation>{label}&#xa0;: signée par {user} le {date} à {time} UTC, version {version}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{label}: draft</source>
        <translation>{label}&#xa0;: brouillon</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>PD: target disease after CR ({lesions}), {words}</source>
        <translation>MP&#xa0;: maladie cible après RC ({lesions}), {words}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NE: no target evaluated ({lesions} not evaluated), no sum of diameters (sec. 4.4.2)</source>
        <translation>NE&#xa0;: aucune cible évaluée ({lesions} non évaluées), pas de somme des diamètres (sect. 4.4.2)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>PD: measured targets alone reach PD ({lesions} not evaluated), {words}</source>
        <translation>MP&#xa0;: les cibles mesurées suffisent à atteindre la MP ({lesions} non évaluées), {words}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>NE: {lesions} not evaluated and the measured targets (sum {sum}) do not reach PD (sec. 4.4.2)</source>
        <translation>NE&#xa0;: {lesions} non évaluées et les cibles mesurées (somme {sum}) n&apos;atteignent pas la MP (sect. 4.4.2)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>CR: every non-nodal target gone and every nodal target under 10 mm (sum {sum} of nodes)</source>
        <translation>RC&#xa0;: toutes les cibles non ganglionnaires ont disparu et toutes les cibles ganglionnaires font moins de 10 mm (somme {sum} des ganglions)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>PR: sum {sum}, {pct} from baseline {base}</source>
        <translation>RP&#xa0;: somme {sum}, {pct} par rapport à la référence {base}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SD: sum {sum}, {pct} from baseline {base}, {pct_nadir} from nadir {nadir} ({inc})</source>
        <translation>MS&#xa0;: somme {sum}, {pct} par rapport à la référence {base}, {pct_nadir} par rapport au nadir {nadir} ({inc})</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>SD: sum {sum}, {pct} from baseline {base}</source>
        <translation>MS&#xa0;: somme {sum}, {pct} par rapport à la référence {base}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>sum {sum}, {inc} from nadir {nadir} (no percent change from a 0 nadir)</source>
        <translation>somme {sum}, {inc} par rapport au nadir {nadir} (pas de variation en pourcentage depuis un nadir nul)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>sum {sum}, {pct} from nadir {nadir}, {inc}</source>
        <translation>somme {sum}, {pct} par rapport au nadir {nadir}, {inc}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PD: {words}</source>
        <translation>MP&#xa0;: {words}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-targets PD: unequivocal progression of {lesions}</source>
        <translation>Non cibles MP&#xa0;: progression sans équivoque de {lesions}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-targets PD: {lesions} reappeared after CR</source>
        <translation>Non cibles MP&#xa0;: {lesions} réapparue(s) après RC</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-targets NE: {lesions} not evaluated</source>
        <translation>Non cibles NE&#xa0;: {lesions} non évaluée(s)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Non-targets Non-CR/Non-PD: {lesions} present</source>
        <translation>Non cibles Non-RC/Non-MP&#xa0;: {lesions} présente(s)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Baseline (inclusion re-baseline): sum {sum} of {n} targets</source>
        <translation>Référence (nouvelle référence à l&apos;inclusion)&#xa0;: somme {sum} de {n} cibles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Baseline (inclusion re-baseline): sum {sum} of {n} target</source>
        <translation>Référence (nouvelle référence à l&apos;inclusion)&#xa0;: somme {sum} de {n} cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Baseline: sum {sum} of {n} targets</source>
        <translation>Référence&#xa0;: somme {sum} de {n} cibles</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Baseline: sum {sum} of {n} target</source>
        <translation>Référence&#xa0;: somme {sum} de {n} cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overall revised to PD: the equivocal new lesion first seen at {first} was confirmed at {label}, so progression dates from {first} (sec. 4.3.5)</source>
        <translation>Réponse globale révisée en MP&#xa0;: la nouvelle lésion douteuse vue d&apos;abord à {first} a été confirmée à {label}, la progression date donc de {first} (sect. 4.3.5)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Overall {response} (RECIST 1.1 {table})</source>
        <translation>Réponse globale {response} (RECIST 1.1 {table})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>After first progression at {label}: not used for best response</source>
        <translation>Après la première progression à {label}&#xa0;: non utilisée pour la meilleure réponse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NE: no response and stable disease shorter than {days} days</source>
        <translation>NE&#xa0;: pas de réponse et maladie stable de moins de {days} jours</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{response} {first} confirmed at {second} ({days} days later)</source>
        <translation>{response} {first} confirmée à {second} ({days} jours plus tard)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{response} at {label} (confirmation not required)</source>
        <translation>{response} à {label} (confirmation non requise)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{response}: {label} {days} days after baseline (minimum {min})</source>
        <translation>{response}&#xa0;: {label} {days} jours après la référence (minimum {min})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{response} at {label}, never confirmed</source>
        <translation>{response} à {label}, jamais confirmée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{response} at {label}</source>
        <translation>{response} à {label}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>NAMECAR: pre-treatment baseline, metastatic sum {sum}, primary excluded</source>
        <translation>NAMECAR&#xa0;: référence pré-thérapeutique, somme métastatique {sum}, tumeur primitive exclue</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>NAMECAR: pre-treatment baseline, metastatic sum {sum}</source>
        <translation>NAMECAR&#xa0;: référence pré-thérapeutique, somme métastatique {sum}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not eligible: whatever the unevaluated lesions ({lesions} not evaluated): progression (PD), {why}</source>
        <translation>Non éligible quelles que soient les lésions non évaluées ({lesions} non évaluées)&#xa0;: progression (MP), {why}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Not eligible: whatever the unevaluated lesions ({lesions} not evaluated): metastatic non-target disease present ({present}) and no metastatic target to measure shrinkage</source>
        <translation>Non éligible quelles que soient les lésions non évaluées ({lesions} non évaluées)&#xa0;: maladie métastatique non cible présente ({present}) et aucune cible métastatique pour mesurer la diminution</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Not eligible: whatever the unevaluated lesions ({lesions} not evaluated): measured metastatic sum already {share} of baseline, so shrinkage cannot exceed 75%, and {present} still present, so no metastatic CR</source>
        <translation>Non éligible quelles que soient les lésions non évaluées ({lesions} non évaluées)&#xa0;: somme métastatique mesurée déjà à {share} de la référence, la diminution ne peut donc pas dépasser 75&#xa0;%, et {present} toujours présente(s), donc pas de RC métastatique</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>unequivocal new lesion since {label}</source>
        <translation>nouvelle lésion sans équivoque depuis {label}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>metastatic non-target progression of {lesions}</source>
        <translation>progression métastatique non cible de {lesions}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not eligible: {why}</source>
        <translation>Non éligible&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Eligible: metastatic PR {pct}, primary excluded (metastatic non-targets present, not progressing)</source>
        <translation>Éligible&#xa0;: RP métastatique {pct}, tumeur primitive exclue (non cibles métastatiques présentes, sans progression)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Eligible: metastatic PR {pct}, primary excluded</source>
        <translation>Éligible&#xa0;: RP métastatique {pct}, tumeur primitive exclue</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Eligible: metastatic PR {pct} (metastatic non-targets present, not progressing)</source>
        <translation>Éligible&#xa0;: RP métastatique {pct} (non cibles métastatiques présentes, sans progression)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Eligible: metastatic PR {pct}</source>
        <translation>Éligible&#xa0;: RP métastatique {pct}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not eligible: metastatic sum {pct} from baseline, needs more than 75% shrinkage or CR, primary excluded</source>
        <translation>Non éligible&#xa0;: somme métastatique {pct} par rapport à la référence, il faut plus de 75&#xa0;% de diminution ou une RC, tumeur primitive exclue</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Not eligible: metastatic sum {pct} from baseline, needs more than 75% shrinkage or CR</source>
        <translation>Non éligible&#xa0;: somme métastatique {pct} par rapport à la référence, il faut plus de 75&#xa0;% de diminution ou une RC</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Incomplete: metastatic {lesions} not evaluated</source>
        <translation>Incomplet&#xa0;: {lesions} métastatique(s) non évaluée(s)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{where}: a target must be measured when selected (sec. 3.1.1, 4.2)</source>
        <translation>{where}&#xa0;: une cible doit être mesurée quand elle est choisie (sect. 3.1.1, 4.2)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>target recorded as {kind}, a single diameter in mm is required</source>
        <translation>cible enregistrée comme {kind}, un seul diamètre en mm est requis</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{where}: nodal target needs short axis &gt;= 15 mm (sec. 3.1.1)</source>
        <translation>{where}&#xa0;: une cible ganglionnaire exige un petit axe &gt;= 15 mm (sect. 3.1.1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>nodal target short axis {mm} is below 15 mm</source>
        <translation>le petit axe de la cible ganglionnaire, {mm}, est inférieur à 15 mm</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{where}: non-nodal target needs long axis &gt;= 10 mm and &gt;= twice a slice thickness over 5 mm (sec. 3.1.1)</source>
        <translation>{where}&#xa0;: une cible non ganglionnaire exige un grand axe &gt;= 10 mm et &gt;= deux fois une épaisseur de coupe supérieure à 5 mm (sect. 3.1.1)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>long axis {mm} is below {minimum} ({why})</source>
        <translation>le grand axe, {mm}, est inférieur à {minimum} ({why})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>twice the slice thickness of {mm}</source>
        <translation>deux fois l&apos;épaisseur de coupe de {mm}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>target number {n} exceeds the maximum of 5</source>
        <translation>la cible numéro {n} dépasse le maximum de 5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>third or later target in organ &apos;{organ}&apos;</source>
        <translation>troisième cible ou plus dans l&apos;organe «&#xa0;{organ}&#xa0;»</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>non-target is &apos;{status}&apos; at baseline</source>
        <translation>la non cible est «&#xa0;{status}&#xa0;» à la référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>node short axis {mm} is below 10 mm: not a lesion</source>
        <translation>petit axe du ganglion {mm}, inférieur à 10 mm&#xa0;: ce n&apos;est pas une lésion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>node short axis {mm} is pathological but not measurable: record it as a non-target</source>
        <translation>petit axe du ganglion {mm}, pathologique mais non mesurable&#xa0;: enregistrez-le comme non cible</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>measured on a plane {deg} degrees from axial</source>
        <translation>mesurée sur un plan à {deg} degrés de l&apos;axial</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>series {uid} is no longer in the store; the measurement ({what}) is kept but its images cannot be shown</source>
        <translation>la série {uid} n&apos;est plus dans le stockage&#xa0;; la mesure ({what}) est conservée mais ses images ne peuvent pas être affichées</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>lesion {lesion}, timepoint {timepoint}: {finding} [{rule}]</source>
        <translation>lésion {lesion}, évaluation {timepoint}&#xa0;: {finding} [{rule}]</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lesion {lesion}: {finding} [{rule}]</source>
        <translation>lésion {lesion}&#xa0;: {finding} [{rule}]</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>timepoint {timepoint}: {finding} [{rule}]</source>
        <translation>évaluation {timepoint}&#xa0;: {finding} [{rule}]</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{finding} [{rule}]</source>
        <translation>{finding} [{rule}]</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{tag} is missing in file {file}; {why}; the reader can enter it</source>
        <translation>{tag} est absent du fichier {file}&#xa0;; {why}&#xa0;; le lecteur peut le saisir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{tag} is not positive ({value}) in file {file}; {why}; the reader can enter it</source>
        <translation>{tag} n&apos;est pas positif ({value}) dans le fichier {file}&#xa0;; {why}&#xa0;; le lecteur peut le saisir</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{tag} is missing in file {file}; {why}</source>
        <translation>{tag} est absent du fichier {file}&#xa0;; {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{tag} is missing in file {file}</source>
        <translation>{tag} est absent du fichier {file}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUVbw needs the body weight</source>
        <translation>le SUVbw nécessite le poids corporel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUV needs the injected activity</source>
        <translation>le SUV nécessite l&apos;activité injectée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>decay correction needs the radionuclide half-life</source>
        <translation>la correction de décroissance nécessite la période du radionucléide</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUL, SUVbsa and SUVibw need it</source>
        <translation>SUL, SUVbsa et SUVibw en ont besoin</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{value} % of SUVmax</source>
        <translation>{value} % du SUVmax</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUV &gt;= {value}</source>
        <translation>SUV &gt;= {value}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Move measurement</source>
        <translation>Déplacer la mesure</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Assign measurement</source>
        <translation>Attribuer la mesure</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete measurement</source>
        <translation>Supprimer la mesure</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Change lesion flags</source>
        <translation>Modifier les indicateurs de la lésion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set status</source>
        <translation>Définir le statut</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete lesion</source>
        <translation>Supprimer la lésion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Create read</source>
        <translation>Créer la lecture</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Add timepoint {label}</source>
        <translation>Ajouter l&apos;évaluation {label}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Edit timepoint {label}</source>
        <translation>Modifier l&apos;évaluation {label}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Create lesion {label}</source>
        <translation>Créer la lésion {label}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add {kind}</source>
        <translation>Ajouter&#xa0;: {kind}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Relabel lesion {label}</source>
        <translation>Renommer la lésion {label}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Change role to {role}</source>
        <translation>Changer le rôle en {role}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Change site to {site}</source>
        <translation>Changer la localisation en {site}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set status {status}</source>
        <translation>Définir le statut {status}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Measure {label}</source>
        <translation>Mesurer {label}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re-measure {label}</source>
        <translation>Remesurer {label}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Undo {action}</source>
        <translation>Annulation&#xa0;: {action}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Redo {action}</source>
        <translation>Rétablissement&#xa0;: {action}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{first}; {rest}</source>
        <translation>{first}&#xa0;; {rest}</translation>
    </message>
    <message>
        <location filename="../../src/namecar_viewer/gui/criteria_texts.py" line="+16"/>
        <source>DRAFT wording to be checked against the approved protocol version. Short wording derived from the public trial summary, NOT the official protocol text.</source>
        <translation>Formulation PROVISOIRE à vérifier sur la version approuvée du protocole. Formulation courte tirée du résumé public de l&apos;essai, PAS le texte officiel du protocole.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>NAMECAR (NCT06882486), Institut Paoli-Calmettes</source>
        <translation>NAMECAR (NCT06882486), Institut Paoli-Calmettes</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Public trial summary: patients with metastatic kidney cancer in complete response or major metastatic partial response on immunotherapy, randomised between delayed nephrectomy with stop of treatment (arm A) and continued treatment (arm B); CT every 3 months for 2 years; primary endpoint PFS by RECIST 1.1.</source>
        <translation>Résumé public de l&apos;essai&#xa0;: patients atteints d&apos;un cancer du rein métastatique en réponse complète ou en réponse partielle métastatique majeure sous immunothérapie, randomisés entre néphrectomie différée avec arrêt du traitement (bras A) et poursuite du traitement (bras B)&#xa0;; TDM tous les 3 mois pendant 2 ans&#xa0;; critère principal&#xa0;: SSP selon RECIST 1.1.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Adult patient (18 years or older) who has given written informed consent.</source>
        <translation>Patient adulte (18 ans ou plus) ayant donné son consentement éclairé écrit.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Renal cell carcinoma, histologically confirmed, with metastatic disease.</source>
        <translation>Carcinome à cellules rénales, confirmé histologiquement, au stade métastatique.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>First-line systemic treatment based on immunotherapy (immune checkpoint inhibitor), ongoing.</source>
        <translation>Traitement systémique de première ligne à base d&apos;immunothérapie (inhibiteur de point de contrôle immunitaire), en cours.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Complete response or metastatic partial response with more than 75% shrinkage by RECIST 1.1, pre-treatment baseline vs the inclusion scan, primary kidney tumour excluded.</source>
        <translation>Réponse complète ou réponse partielle métastatique avec plus de 75&#xa0;% de diminution selon RECIST 1.1, référence pré-thérapeutique vs examen d&apos;inclusion, tumeur rénale primitive exclue.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Primary kidney tumour in place and judged resectable by the surgical team.</source>
        <translation>Tumeur rénale primitive en place et jugée résécable par l&apos;équipe chirurgicale.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Performance status compatible with surgery and continued treatment (threshold as stated in the protocol).</source>
        <translation>État général compatible avec la chirurgie et la poursuite du traitement (seuil défini dans le protocole).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Adequate haematological, renal and hepatic function (limits as stated in the protocol).</source>
        <translation>Fonctions hématologique, rénale et hépatique adéquates (limites définies dans le protocole).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Disease progression (RECIST 1.1) on first-line treatment before inclusion.</source>
        <translation>Progression de la maladie (RECIST 1.1) sous traitement de première ligne avant l&apos;inclusion.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Contraindication to nephrectomy or to general anaesthesia.</source>
        <translation>Contre-indication à la néphrectomie ou à l&apos;anesthésie générale.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Brain metastases (treated or untreated, as defined in the protocol).</source>
        <translation>Métastases cérébrales (traitées ou non, selon la définition du protocole).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Other active cancer (except those allowed by the protocol).</source>
        <translation>Autre cancer évolutif (sauf ceux autorisés par le protocole).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Pregnancy or breastfeeding.</source>
        <translation>Grossesse ou allaitement.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prior nephrectomy of the tumour-bearing kidney.</source>
        <translation>Néphrectomie antérieure du rein porteur de la tumeur.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Immunotherapy permanently stopped for toxicity.</source>
        <translation>Immunothérapie arrêtée définitivement pour toxicité.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Contraindication to contrast-enhanced CT follow-up every 3 months.</source>
        <translation>Contre-indication au suivi par TDM avec injection de produit de contraste tous les 3 mois.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Participation in another interventional trial that interferes with the study treatment.</source>
        <translation>Participation à un autre essai interventionnel interférant avec le traitement de l&apos;étude.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Patient unable to comply with the follow-up, or under legal protection (guardianship, deprived of liberty).</source>
        <translation>Patient ne pouvant pas se conformer au suivi, ou sous protection juridique (tutelle, curatelle, privé de liberté).</translation>
    </message>
    <message>
        <location filename="../../src/namecar_viewer/gui/pet_import_texts.py" line="+19"/>
        <source>Reading headers: {what}</source>
        <translation>Lecture des en-têtes&#xa0;: {what}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Indexing {what}</source>
        <translation>Indexation&#xa0;: {what}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Indexing CR</source>
        <translation>Indexation&#xa0;: CR</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>done</source>
        <translation>terminé</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{what} ({detail}): no image to show, not indexed as a stack</source>
        <translation>{what} ({detail})&#xa0;: aucune image à afficher, non indexé comme pile</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PR ({detail}): no image to show, not indexed as a stack</source>
        <translation>PR ({detail})&#xa0;: aucune image à afficher, non indexé comme pile</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>non-image object</source>
        <translation>objet non-image</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{description}, SOP class {uid}</source>
        <translation>{description}, classe SOP {uid}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PR, SOP class {uid}</source>
        <translation>PR, classe SOP {uid}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{description}, no SOP Class UID</source>
        <translation>{description}, sans SOP Class UID</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no SOP Class UID</source>
        <translation>sans SOP Class UID</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{what} ({file}): indexed but not loadable: {problems}</source>
        <translation>{what} ({file})&#xa0;: indexée mais non chargeable&#xa0;: {problems}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{what}: no thumbnail ({reason})</source>
        <translation>{what}&#xa0;: pas de vignette ({reason})</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{what}: no thumbnail (no image of stack {stack} could be decoded: {reason})</source>
        <translation>{what}&#xa0;: pas de vignette (aucune image de la pile {stack} n&apos;a pu être décodée&#xa0;: {reason})</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>could not be copied into the store: {reason}</source>
        <translation>n&apos;a pas pu être copié dans le stockage&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>instance {uid} is not in PET series {series}</source>
        <translation>l&apos;instance {uid} n&apos;appartient pas à la série TEP {series}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SUV{kind} is unavailable for series {series}: {warnings}</source>
        <translation>SUV{kind} indisponible pour la série {series}&#xa0;: {warnings}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{tag} has the non-numeric value {value} in file {file}</source>
        <translation>{tag} a la valeur non numérique {value} dans le fichier {file}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Philips private tag {tag} has the unreadable value {value} in file {file}</source>
        <translation>l&apos;élément privé Philips {tag} a la valeur illisible {value} dans le fichier {file}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Philips private tag {tag} has the non-numeric value {value} in file {file}</source>
        <translation>l&apos;élément privé Philips {tag} a la valeur non numérique {value} dans le fichier {file}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{tag} unreadable in file {file}: {why}</source>
        <translation>{tag} illisible dans le fichier {file}&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{tag} differs within the series: {value} in file {file} but {other} in file {other_file}</source>
        <translation>{tag} diffère au sein de la série&#xa0;: {value} dans le fichier {file} mais {other} dans le fichier {other_file}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{tag} is {value}, not PT, in file {file}</source>
        <translation>{tag} vaut {value}, et non PT, dans le fichier {file}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{tag} is {value} in file {file}; SUV is computed only from BQML, CNTS (Philips) or GML</source>
        <translation>{tag} vaut {value} dans le fichier {file}&#xa0;; le SUV n&apos;est calculé qu&apos;à partir de BQML, CNTS (Philips) ou GML</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{tag} is {value} in file {file}; expected START, ADMIN or NONE</source>
        <translation>{tag} vaut {value} dans le fichier {file}&#xa0;; START, ADMIN ou NONE attendu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Units CNTS in file {file} but neither Philips SUV Scale Factor (7053,1000) nor Activity Concentration Scale Factor (7053,1009) is present in every instance; counts cannot be converted to SUV</source>
        <translation>Units CNTS dans le fichier {file}, mais ni le SUV Scale Factor Philips (7053,1000) ni l&apos;Activity Concentration Scale Factor (7053,1009) n&apos;est présent dans toutes les instances&#xa0;; les coups ne peuvent pas être convertis en SUV</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{tag} is missing in file {file}; SUV needs the injected dose and time; the reader can enter them</source>
        <translation>{tag} est absent du fichier {file}&#xa0;; le SUV nécessite l&apos;activité injectée et l&apos;heure d&apos;injection&#xa0;; le lecteur peut les saisir</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{tags} and {other_tags} are missing in file {file}; the reference time for decay is unknown</source>
        <translation>{tags} et {other_tags} sont absents du fichier {file}&#xa0;; l&apos;heure de référence de la correction de décroissance est inconnue</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{tag} and {other_tag} are missing in file {file}; DecayCorrection NONE needs the frame time</source>
        <translation>{tag} et {other_tag} sont absents du fichier {file}&#xa0;; DecayCorrection NONE nécessite l&apos;heure de chaque trame</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{tag} and {other_tag} are missing in file {file}; SUV needs the injection time; the reader can enter it</source>
        <translation>{tag} et {other_tag} sont absents du fichier {file}&#xa0;; le SUV nécessite l&apos;heure d&apos;injection&#xa0;; le lecteur peut la saisir</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>UTC offset {text} is not of the form +HHMM or -HHMM</source>
        <translation>le décalage UTC {text} n&apos;est pas de la forme +HHMM ou -HHMM</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>UTC offset {text} is out of range</source>
        <translation>le décalage UTC {text} est hors limites</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>date {text} is not of the form YYYYMMDD</source>
        <translation>la date {text} n&apos;est pas de la forme YYYYMMDD</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>time {text} is not of the form HHMMSS.FFFFFF</source>
        <translation>l&apos;heure {text} n&apos;est pas de la forme HHMMSS.FFFFFF</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>date-time {text} is not of the form YYYYMMDDHHMMSS.FFFFFF&amp;ZZXX</source>
        <translation>la date-heure {text} n&apos;est pas de la forme YYYYMMDDHHMMSS.FFFFFF&amp;ZZXX</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The PET volume does not list its files, so its SUV tags cannot be read.</source>
        <translation>Le volume TEP ne liste pas ses fichiers&#xa0;: ses éléments DICOM du SUV ne peuvent pas être lus.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cannot read the PET header of {file}: {reason}</source>
        <translation>Impossible de lire l&apos;en-tête TEP de {file}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Series is {modality}, not PET: no SUV.</source>
        <translation>La série est en {modality}, pas en TEP&#xa0;: pas de SUV.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a slice without its instance (gap) in a series whose SUV factors differ per instance</source>
        <translation>une coupe sans son instance (lacune) dans une série dont les facteurs SUV diffèrent d&apos;une instance à l&apos;autre</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{units} (raw, not SUV)</source>
        <translation>{units} (valeurs brutes, pas en SUV)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>stored values (raw, not SUV)</source>
        <translation>valeurs stockées (brutes, pas en SUV)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored SUV values are not valid JSON: {text}</source>
        <translation>Les valeurs SUV enregistrées ne sont pas du JSON valide&#xa0;: {text}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored SUV values are not an object: {text}</source>
        <translation>Les valeurs SUV enregistrées ne sont pas un objet JSON&#xa0;: {text}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The PET overlay is not in SUV: convert it with load_pet_suv/to_suv first.</source>
        <translation>La TEP superposée n&apos;est pas en SUV&#xa0;: convertissez-la d&apos;abord avec load_pet_suv/to_suv.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ellipse {uid} has no plane to sample.</source>
        <translation>L&apos;ellipse {uid} n&apos;a pas de plan à échantillonner.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The ROI holds no PET pixel.</source>
        <translation>La ROI ne contient aucun pixel TEP.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Withdraw reader-entered SUV values</source>
        <translation>Retirer les valeurs SUV saisies par le lecteur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reader-entered SUV values ({names})</source>
        <translation>Valeurs SUV saisies par le lecteur ({names})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Link timepoints by offset ({x}, {y}, {z}) mm</source>
        <translation>Lier les évaluations par un décalage ({x}&#xa0;; {y}&#xa0;; {z}) mm</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Align timepoints automatically</source>
        <translation>Aligner les évaluations automatiquement</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Accept automatic registration PET -&gt; base</source>
        <translation>Accepter le recalage automatique TEP -&gt; base</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Accept manual registration PET -&gt; base</source>
        <translation>Accepter le recalage manuel TEP -&gt; base</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Accept automatic+manual registration PET -&gt; base</source>
        <translation>Accepter le recalage automatique+manuel TEP -&gt; base</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The {region} reference region has mean SUV {mean}.</source>
        <translation>La région de référence ({region}) a un SUV moyen de {mean}.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The {region} reference region has mean SUV {mean} &lt;= 0.</source>
        <translation>La région de référence ({region}) a un SUV moyen de {mean} &lt;= 0.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>blood_pool</source>
        <translation>pool sanguin</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>parotid</source>
        <translation>parotide</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lesion uptake is computed on a PET converted to SUV (load_pet_suv).</source>
        <translation>La fixation des lésions se calcule sur une TEP convertie en SUV (load_pet_suv).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The stored MRI-PET lesion table cannot be read: {reason}</source>
        <translation>Le tableau des lésions IRM-TEP enregistré est illisible&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The VOI holds no voxel of the volume.</source>
        <translation>Le VOI ne contient aucun voxel du volume.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save the MRI-PET lesion table</source>
        <translation>Enregistrer le tableau des lésions IRM-TEP</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Volume {shape} is smaller than one block {factors}.</source>
        <translation>Le volume {shape} est plus petit qu&apos;un bloc {factors}.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Colour volumes cannot be aligned.</source>
        <translation>Les volumes en couleur ne peuvent pas être alignés.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The volume&apos;s slices are sheared (gantry tilt): resample it to an orthogonal grid before alignment.</source>
        <translation>Les coupes du volume sont cisaillées (inclinaison du statif)&#xa0;: rééchantillonnez-le sur une grille orthogonale avant l&apos;alignement.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The volume is too small to align ({shape} voxels); at least 8 blocks of {mm} mm along each axis are needed.</source>
        <translation>Le volume est trop petit pour être aligné ({shape} voxels)&#xa0;; il faut au moins 8 blocs de {mm} mm sur chaque axe.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The volume holds NaN or infinite values; cannot align.</source>
        <translation>Le volume contient des valeurs NaN ou infinies&#xa0;; alignement impossible.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Colour volumes cannot be registered.</source>
        <translation>Les volumes en couleur ne peuvent pas être recalés.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The fixed volume is too thin to register ({shape}); at least 4 voxels along each axis are needed.</source>
        <translation>Le volume fixe est trop fin pour être recalé ({shape})&#xa0;; il faut au moins 4 voxels sur chaque axe.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The moving volume is too thin to register ({shape}); at least 4 voxels along each axis are needed.</source>
        <translation>Le volume mobile est trop fin pour être recalé ({shape})&#xa0;; il faut au moins 4 voxels sur chaque axe.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The volume holds NaN or infinite values; cannot register.</source>
        <translation>Le volume contient des valeurs NaN ou infinies&#xa0;; recalage impossible.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Colour volumes cannot be resampled for fusion.</source>
        <translation>Les volumes en couleur ne peuvent pas être rééchantillonnés pour la fusion.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The volume&apos;s slices are sheared (gantry tilt): resample it to an orthogonal grid before registration.</source>
        <translation>Les coupes du volume sont cisaillées (inclinaison du statif)&#xa0;: rééchantillonnez-le sur une grille orthogonale avant le recalage.</translation>
    </message>
    <message>
        <location filename="../../src/namecar_viewer/gui/reading_texts.py" line="+20"/>
        <source>a case needs a baseline timepoint</source>
        <translation>un cas nécessite une évaluation de référence</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no timepoints</source>
        <translation>aucune évaluation</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lesion ids are unique</source>
        <translation>les identifiants de lésion sont uniques</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>declared {n} times</source>
        <translation>déclarée {n} fois</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>timepoint labels are unique</source>
        <translation>les noms d&apos;évaluation sont uniques</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>timepoint {timepoint}: used {n} times [timepoint labels are unique]</source>
        <translation>évaluation {timepoint}&#xa0;: nom utilisé {n} fois [les noms d&apos;évaluation sont uniques]</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>measurements are given for declared target lesions only</source>
        <translation>seules les lésions cibles déclarées ont des mesures</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>statuses are given for declared non-target lesions only</source>
        <translation>seules les lésions non cibles déclarées ont un statut</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not a declared target</source>
        <translation>n&apos;est pas une lésion cible déclarée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not a declared non-target</source>
        <translation>n&apos;est pas une lésion non cible déclarée</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>lesion is target</source>
        <translation>la lésion est une lésion cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lesion is non_target</source>
        <translation>la lésion est une lésion non cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lesion is new_target</source>
        <translation>la lésion est une cible de nouvelle lésion</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>lesion is new_non_target</source>
        <translation>la lésion est une nouvelle lésion non cible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>every timepoint needs a date (sec. 4.4.3, 4.6)</source>
        <translation>chaque évaluation doit être datée (sect. 4.4.3, 4.6)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>date missing</source>
        <translation>date manquante</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>timepoints are in date order, baseline first</source>
        <translation>les évaluations sont dans l&apos;ordre chronologique, la référence en premier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>date {date} is before the previous timepoint</source>
        <translation>la date du {date} est antérieure à l&apos;évaluation précédente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a confirmed new lesion refers to an earlier follow-up where it was equivocal (sec. 4.3.5)</source>
        <translation>une nouvelle lésion confirmée renvoie à un suivi antérieur où elle était douteuse (sect. 4.3.5)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&apos;{label}&apos; is not an earlier follow-up with an equivocal new lesion</source>
        <translation>«&#xa0;{label}&#xa0;» n&apos;est pas un suivi antérieur avec une nouvelle lésion douteuse</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>confirmation of an equivocal new lesion needs an unequivocal new lesion (sec. 4.3.5)</source>
        <translation>la confirmation d&apos;une nouvelle lésion douteuse exige une nouvelle lésion sans équivoque (sect. 4.3.5)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>new_lesions is &apos;none&apos;</source>
        <translation>nouvelles lésions&#xa0;: «&#xa0;aucune&#xa0;»</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new_lesions is &apos;equivocal&apos;</source>
        <translation>nouvelles lésions&#xa0;: «&#xa0;douteuses&#xa0;»</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>at most 5 new-lesion targets (Seymour 2017)</source>
        <translation>au plus 5 cibles de nouvelles lésions (Seymour 2017)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new-lesion target number {n} exceeds 5</source>
        <translation>la cible de nouvelle lésion numéro {n} dépasse le maximum de 5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>at most 2 new-lesion targets per organ (Seymour 2017)</source>
        <translation>au plus 2 cibles de nouvelles lésions par organe (Seymour 2017)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>third or later new-lesion target in organ &apos;{organ}&apos;</source>
        <translation>troisième cible de nouvelle lésion ou plus dans l&apos;organe «&#xa0;{organ}&#xa0;»</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a new lesion cannot be present at baseline (sec. 4.3.5)</source>
        <translation>une nouvelle lésion ne peut pas être présente à la référence (sect. 4.3.5)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new-lesion target measured at baseline</source>
        <translation>cible de nouvelle lésion mesurée à la référence</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>lymph nodes</source>
        <translation>ganglions</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>a split lesion needs at least one fragment</source>
        <translation>une lésion fragmentée nécessite au moins un fragment</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>measured measurement takes 1 values</source>
        <translation>une lésion mesurée a exactement 1 diamètre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>too_small measurement takes 0 values</source>
        <translation>une lésion trop petite pour être mesurée n&apos;a pas de diamètre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not_evaluated measurement takes 0 values</source>
        <translation>une lésion non évaluée n&apos;a pas de diamètre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>coalesced measurement takes 0 values</source>
        <translation>une lésion confluente n&apos;a pas de diamètre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>diameters cannot be negative</source>
        <translation>les diamètres ne peuvent pas être négatifs</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>a re-baseline needs a sum of diameters above 0 mm (sec. 4.3.1)</source>
        <translation>une nouvelle référence exige une somme des diamètres supérieure à 0 mm (sect. 4.3.1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>every target is gone at the inclusion scan: no percent change can be computed from it; use the pre-treatment baseline</source>
        <translation>toutes les cibles ont disparu à l&apos;examen d&apos;inclusion&#xa0;: aucune variation en pourcentage ne peut être calculée par rapport à lui&#xa0;; utilisez la référence pré-thérapeutique</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>RECIST baseline is set to the inclusion scan but no timepoint of the read is marked as inclusion</source>
        <translation>La référence RECIST est l&apos;examen d&apos;inclusion mais aucune évaluation de la lecture n&apos;est marquée comme inclusion</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>First PD: undated ({label})</source>
        <translation>Première MP&#xa0;: non datée ({label})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>First PD: {when} ({label})</source>
        <translation>Première MP&#xa0;: {when} ({label})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No progression</source>
        <translation>Pas de progression</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>overall response at {label}: {first} vs {second}</source>
        <translation>réponse globale à {label}&#xa0;: {first} vs {second}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>date of progression: {first} vs {second}</source>
        <translation>date de progression&#xa0;: {first} vs {second}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not assessed</source>
        <translation>non évaluée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no progression</source>
        <translation>pas de progression</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The two reads disagree ({differences}): the case awaits adjudication and has no result to report yet.</source>
        <translation>Les deux lectures divergent ({differences})&#xa0;: le dossier attend l&apos;adjudication et n&apos;a pas encore de résultat à rapporter.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Cannot export case {case}: {reason}</source>
        <translation>Export impossible du dossier {case}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>case {case}: exporting read {uid} (adjudicated); case {others} chose the other read, the latest case decides</source>
        <translation>dossier {case}&#xa0;: export de la lecture {uid} (après adjudication)&#xa0;; le dossier {others} a retenu l&apos;autre lecture, le dossier le plus récent l&apos;emporte</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>case {case}: exporting read {uid} (both reads agree); case {others} chose the other read, the latest case decides</source>
        <translation>dossier {case}&#xa0;: export de la lecture {uid} (les deux lectures concordent)&#xa0;; le dossier {others} a retenu l&apos;autre lecture, le dossier le plus récent l&apos;emporte</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>case {case}: exporting read {uid} (adjudicated)</source>
        <translation>dossier {case}&#xa0;: export de la lecture {uid} (après adjudication)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>case {case}: exporting read {uid} (both reads agree)</source>
        <translation>dossier {case}&#xa0;: export de la lecture {uid} (les deux lectures concordent)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Timepoint {label} already exists.</source>
        <translation>L&apos;évaluation {label} existe déjà.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lesion {uid} already exists.</source>
        <translation>La lésion {uid} existe déjà.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Measurement {uid} already exists.</source>
        <translation>La mesure {uid} existe déjà.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The lesion {uid} is not in this read (deleted?).</source>
        <translation>La lésion {uid} n&apos;est pas dans cette lecture (supprimée&#xa0;?).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The timepoint {uid} is not in this read.</source>
        <translation>L&apos;évaluation {uid} n&apos;est pas dans cette lecture.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The measurement {uid} is not in this read (deleted?).</source>
        <translation>La mesure {uid} n&apos;est pas dans cette lecture (supprimée&#xa0;?).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{error}
The edit is kept in this window and not yet saved; it will be saved with the next edit or when you choose File &gt; Retry saving.</source>
        <translation>{error}
La modification est conservée dans cette fenêtre mais pas encore enregistrée&#xa0;; elle le sera avec la prochaine modification ou quand vous choisirez Fichier &gt; Réessayer d&apos;enregistrer la lecture.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Accept {method} registration PET -&gt; base</source>
        <translation>Accepter le recalage ({method}) TEP -&gt; base</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The ROI holds no pixel of the image.</source>
        <translation>La ROI ne contient aucun pixel de l&apos;image.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The ellipse has a zero-length axis.</source>
        <translation>L&apos;ellipse a un axe de longueur nulle.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A ring needs a diameter measurement.</source>
        <translation>Un anneau nécessite une mesure de diamètre.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The click ({row}, {col}) is outside the {rows}x{cols} slice.</source>
        <translation>Le clic ({row}, {col}) est en dehors de la coupe de {rows}x{cols}.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The click is outside the scanned volume.</source>
        <translation>Le clic est en dehors du volume acquis.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The region grown from the click reaches {mm} mm or is empty: it is not a separate lesion on this slice (draw the diameter by hand).</source>
        <translation>La région obtenue par croissance depuis le clic atteint {mm} mm ou est vide&#xa0;: ce n&apos;est pas une lésion distincte sur cette coupe (tracez le diamètre à la main).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No region grows from the click.</source>
        <translation>Aucune région n&apos;est obtenue par croissance depuis le clic.</translation>
    </message>
    <message>
        <location filename="../../src/namecar_viewer/gui/pacs_texts.py" line="+21"/>
        <source>{node}: QIDO-RS answered at {url} ({n} result for a one-study probe)</source>
        <translation>{node}&#xa0;: QIDO-RS a répondu sur {url} ({n} résultat pour une requête de test limitée à un examen)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{node}: C-ECHO to {address} succeeded in {ms} ms</source>
        <translation>{node}&#xa0;: C-ECHO vers {address} réussi en {ms} ms</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{node}: nothing listens at {host}:{port} (connection refused); is the server running and the port right?</source>
        <translation>{node}&#xa0;: rien n&apos;écoute sur {host}:{port} (connexion refusée)&#xa0;; le serveur est-il démarré et le port est-il le bon&#xa0;?</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{node}: no answer from {host}:{port} within {seconds} s (host down or firewall)</source>
        <translation>{node}&#xa0;: pas de réponse de {host}:{port} en {seconds} s (hôte arrêté ou pare-feu)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{node}: cannot reach {host}:{port}: {reason}</source>
        <translation>{node}&#xa0;: impossible de joindre {host}:{port}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: TLS settings cannot be used: {reason}</source>
        <translation>{node}&#xa0;: les réglages TLS sont inutilisables&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: the TLS certificate of {host}:{port} is not trusted: {reason}</source>
        <translation>{node}&#xa0;: le certificat TLS de {host}:{port} n&apos;est pas de confiance&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{node}: TLS with {host}:{port} failed: {reason}</source>
        <translation>{node}&#xa0;: échec de la négociation TLS avec {host}:{port}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: TLS with {host}:{port} failed: {reason} (does the server require a client certificate?)</source>
        <translation>{node}&#xa0;: échec de la négociation TLS avec {host}:{port}&#xa0;: {reason} (le serveur exige-t-il un certificat client&#xa0;?)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{node}: association refused by {address} (our AE title {aet})</source>
        <translation>{node}&#xa0;: association refusée par {address} (notre AE title {aet})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: association refused by {address}: {reason} (our AE title {aet})</source>
        <translation>{node}&#xa0;: association refusée par {address}&#xa0;: {reason} (notre AE title {aet})</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{node}: association with {address} failed (aborted by the peer or timed out)</source>
        <translation>{node}&#xa0;: échec de l&apos;association avec {address} (interrompue par l&apos;entité distante ou délai dépassé)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{node}: association with {address} failed (aborted by the peer or timed out; check the TLS settings)</source>
        <translation>{node}&#xa0;: échec de l&apos;association avec {address} (interrompue par l&apos;entité distante ou délai dépassé&#xa0;; vérifiez les réglages TLS)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{node}: no answer to C-ECHO from {address}</source>
        <translation>{node}&#xa0;: aucune réponse au C-ECHO de {address}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: C-ECHO failed with status {status}</source>
        <translation>{node}&#xa0;: échec du C-ECHO, statut {status}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: connection lost during C-FIND ({level} level) after {n} results</source>
        <translation>{node}&#xa0;: connexion perdue pendant le C-FIND (niveau {level}) après {n} résultat(s)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{node}: C-FIND failed with status {status}</source>
        <translation>{node}&#xa0;: échec du C-FIND, statut {status}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: C-FIND failed with status {status}: {comment}</source>
        <translation>{node}&#xa0;: échec du C-FIND, statut {status}&#xa0;: {comment}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{what} cancelled after {n} instances; they are kept</source>
        <translation>{what} annulé après {n} instance(s)&#xa0;; celles reçues sont conservées</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: connection to {address} lost during {what} after {n} instances were received; they are kept and a new retrieve resumes with the missing ones</source>
        <translation>{node}&#xa0;: connexion avec {address} perdue pendant le {what} après réception de {n} instance(s)&#xa0;; celles-ci sont conservées et une nouvelle récupération reprendra avec les instances manquantes</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{what} cancelled by the peer</source>
        <translation>{what} annulé par l&apos;entité distante</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: {what} failed with status {status}</source>
        <translation>{node}&#xa0;: échec du {what}, statut {status}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: {what} failed with status {status}: {comment}</source>
        <translation>{node}&#xa0;: échec du {what}, statut {status}&#xa0;: {comment}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>cannot start our C-STORE receiver on {host}:{port}: {reason} (port in use? change it in the settings)</source>
        <translation>impossible de démarrer notre récepteur C-STORE sur {host}:{port}&#xa0;: {reason} (port déjà utilisé&#xa0;? changez-le dans les réglages)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>received an instance with an invalid Study Instance UID {uid}</source>
        <translation>instance reçue avec un Study Instance UID invalide&#xa0;: {uid}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>received an instance with an invalid Series Instance UID {uid}</source>
        <translation>instance reçue avec un Series Instance UID invalide&#xa0;: {uid}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>received an instance with an invalid SOP Instance UID {uid}</source>
        <translation>instance reçue avec un SOP Instance UID invalide&#xa0;: {uid}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{node}: {what} at {url} failed with HTTP {code}</source>
        <translation>{node}&#xa0;: échec de {what} sur {url} (HTTP {code})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: {what} at {url} failed with HTTP {code} ({hint})</source>
        <translation>{node}&#xa0;: échec de {what} sur {url} (HTTP {code}, {hint})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>authentication failed: check the user name/password or token</source>
        <translation>échec de l&apos;authentification&#xa0;: vérifiez l&apos;utilisateur, le mot de passe ou le jeton</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>access denied for these credentials</source>
        <translation>accès refusé pour ces identifiants</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not found: check the base URL (it should end with the DICOMweb root)</source>
        <translation>introuvable&#xa0;: vérifiez l&apos;URL de base (elle doit se terminer par la racine DICOMweb)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{node}: cannot connect to {url} during {what} (server down, wrong port or connection lost): {error}</source>
        <translation>{node}&#xa0;: connexion impossible à {url} pendant {what} (serveur arrêté, mauvais port ou connexion perdue)&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{node}: {what} at {url} timed out after {seconds} s</source>
        <translation>{node}&#xa0;: délai de {seconds} s dépassé pour {what} sur {url}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: connection to {url} lost during {what}: {error}; what arrived is kept and a new retrieve fetches the rest</source>
        <translation>{node}&#xa0;: connexion avec {url} perdue pendant {what}&#xa0;: {error}&#xa0;; ce qui est arrivé est conservé et une nouvelle récupération rapatrie le reste</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>QIDO-RS study search</source>
        <translation>la recherche d&apos;examens QIDO-RS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>QIDO-RS series search</source>
        <translation>la recherche de séries QIDO-RS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>QIDO-RS instance search</source>
        <translation>la recherche d&apos;instances QIDO-RS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS retrieve</source>
        <translation>la récupération WADO-RS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{node}: QIDO-RS answer from {url} is not a JSON list</source>
        <translation>{node}&#xa0;: la réponse QIDO-RS de {url} n&apos;est pas une liste JSON</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>WADO-RS answer is not multipart (Content-Type {content_type})</source>
        <translation>la réponse WADO-RS n&apos;est pas multipart (Content-Type {content_type})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS cancelled</source>
        <translation>récupération WADO-RS annulée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS: malformed multipart answer (no {needle})</source>
        <translation>WADO-RS&#xa0;: réponse multipart mal formée ({needle} absent)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS: empty or malformed multipart answer</source>
        <translation>WADO-RS&#xa0;: réponse multipart vide ou mal formée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS: the answer ended inside the headers of part {n}</source>
        <translation>WADO-RS&#xa0;: la réponse s&apos;arrête dans les en-têtes de la partie {n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS: the connection closed inside part {n} ({missing} bytes missing)</source>
        <translation>WADO-RS&#xa0;: la connexion s&apos;est fermée au milieu de la partie {n} ({missing} octets manquants)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>WADO-RS: no boundary after part {n}</source>
        <translation>WADO-RS&#xa0;: pas de délimiteur (boundary) après la partie {n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS: the answer ended inside part {n}</source>
        <translation>WADO-RS&#xa0;: la réponse s&apos;arrête au milieu de la partie {n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WADO-RS: part {n} is too short to be a DICOM file</source>
        <translation>WADO-RS&#xa0;: la partie {n} est trop courte pour être un fichier DICOM</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>WADO-RS needs a DICOMweb node, {node} is a DIMSE node</source>
        <translation>WADO-RS nécessite un nœud DICOMweb, {node} est un nœud DIMSE</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{method} needs a DIMSE node, {node} is a DICOMweb node</source>
        <translation>{method} nécessite un nœud DIMSE, {node} est un nœud DICOMweb</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{missing} of {total} instances did not arrive; retry fetches only those</source>
        <translation>{missing} instance(s) sur {total} non arrivée(s)&#xa0;; relancer ne récupère que celles-ci</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>done: {received} received</source>
        <translation>terminé&#xa0;: {received} instance(s) reçue(s)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>done: {received} received, {skipped} already present</source>
        <translation>terminé&#xa0;: {received} instance(s) reçue(s), {skipped} déjà présente(s)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>cancelled before start</source>
        <translation>annulé avant le démarrage</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not attempted after the error above</source>
        <translation>non lancé après l&apos;erreur précédente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>retrieve cancelled; received instances are kept</source>
        <translation>récupération annulée&#xa0;; les instances reçues sont conservées</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>retrieved files are in {root} but the study index refused them: {reason}</source>
        <translation>les fichiers récupérés sont dans {root} mais l&apos;index des examens les a refusés&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{error}; retrieved files are in {root} but the study index refused them: {reason}</source>
        <translation>{error}&#xa0;; les fichiers récupérés sont dans {root} mais l&apos;index des examens les a refusés&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>start date {value} is not a date: expected YYYY-MM-DD or YYYYMMDD</source>
        <translation>la date de début {value} n&apos;est pas une date&#xa0;: format attendu AAAA-MM-JJ ou AAAAMMJJ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>end date {value} is not a date: expected YYYY-MM-DD or YYYYMMDD</source>
        <translation>la date de fin {value} n&apos;est pas une date&#xa0;: format attendu AAAA-MM-JJ ou AAAAMMJJ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>start date {value} is not a valid calendar date</source>
        <translation>la date de début {value} n&apos;existe pas dans le calendrier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>end date {value} is not a valid calendar date</source>
        <translation>la date de fin {value} n&apos;existe pas dans le calendrier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>start date {start} is after end date {end}</source>
        <translation>la date de début {start} est postérieure à la date de fin {end}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>node {node}: called AE title {title} is invalid: 1-16 printable ASCII characters without backslash</source>
        <translation>nœud {node}&#xa0;: l&apos;AE title appelé {title} est invalide&#xa0;: 1 à 16 caractères ASCII imprimables, sans barre oblique inverse</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>our AE title {title} is invalid: 1-16 printable ASCII characters without backslash</source>
        <translation>notre AE title {title} est invalide&#xa0;: 1 à 16 caractères ASCII imprimables, sans barre oblique inverse</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>node {node}: port {port} is invalid: expected an integer 1-65535</source>
        <translation>nœud {node}&#xa0;: le port {port} est invalide&#xa0;: entier de 1 à 65535 attendu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C-STORE receiver port {port} is invalid: expected an integer 1-65535</source>
        <translation>le port de réception C-STORE {port} est invalide&#xa0;: entier de 1 à 65535 attendu</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>node {node}: host {host} is invalid: expected a host name or IP address</source>
        <translation>nœud {node}&#xa0;: l&apos;hôte {host} est invalide&#xa0;: nom d&apos;hôte ou adresse IP attendu</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>C-STORE receiver address {host} is invalid: expected a host name or IP address</source>
        <translation>l&apos;adresse de réception C-STORE {host} est invalide&#xa0;: nom d&apos;hôte ou adresse IP attendu</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>a DIMSE node needs a name</source>
        <translation>un nœud DIMSE doit avoir un nom</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a DICOMweb node needs a name</source>
        <translation>un nœud DICOMweb doit avoir un nom</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>node {node}: timeout must be positive</source>
        <translation>nœud {node}&#xa0;: le délai d&apos;attente doit être positif</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>node {node}: base URL {url} is invalid: expected http(s)://host[:port]/path</source>
        <translation>nœud {node}&#xa0;: l&apos;URL de base {url} est invalide&#xa0;: http(s)://hôte[:port]/chemin attendu</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>node {node}: basic authentication needs a user name</source>
        <translation>nœud {node}&#xa0;: l&apos;authentification basique exige un nom d&apos;utilisateur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>node {node}: bearer authentication needs a token</source>
        <translation>nœud {node}&#xa0;: l&apos;authentification par jeton (bearer) exige un jeton</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>node {node}: transfer syntax {value} is invalid: &apos;*&apos;, a UID or one of {names}</source>
        <translation>nœud {node}&#xa0;: la syntaxe de transfert {value} est invalide&#xa0;: &apos;*&apos;, un UID ou l&apos;une de {names}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>prefetch: cases ahead must be &gt;= 0 and the budget positive</source>
        <translation>préchargement&#xa0;: le nombre de cas à l&apos;avance doit être &gt;= 0 et l&apos;espace disque alloué positif</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>DIMSE node names must be unique: {names}</source>
        <translation>les noms des nœuds DIMSE doivent être uniques&#xa0;: {names}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>DICOMweb node names must be unique: {names}</source>
        <translation>les noms des nœuds DICOMweb doivent être uniques&#xa0;: {names}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{source}: invalid PACS node settings: {error}</source>
        <translation>{source}&#xa0;: réglages des nœuds PACS invalides&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{path}: cannot read PACS node settings: {error}</source>
        <translation>{path}&#xa0;: impossible de lire les réglages des nœuds PACS&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>study {uid} incomplete</source>
        <translation>examen {uid} incomplet</translation>
    </message>
    <message>
        <location filename="../../src/namecar_viewer/gui/records_texts.py" line="+23"/>
        <source>Cannot write to the reads database {where}: it is read-only (check the file and folder permissions).</source>
        <translation>Impossible d&apos;écrire dans la base des lectures {where}&#xa0;: elle est en lecture seule (vérifiez les droits du fichier et du dossier).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Cannot write to the reads database {where}: it is locked by another program or another NAMECAR Viewer window.</source>
        <translation>Impossible d&apos;écrire dans la base des lectures {where}&#xa0;: elle est verrouillée par un autre programme ou une autre fenêtre de NAMECAR Viewer.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Cannot write to the reads database {where}: the disk is full or failing.</source>
        <translation>Impossible d&apos;écrire dans la base des lectures {where}&#xa0;: le disque est plein ou défaillant.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cannot write to the reads database {where}: the file cannot be opened (missing folder or no permission).</source>
        <translation>Impossible d&apos;écrire dans la base des lectures {where}&#xa0;: le fichier ne peut pas être ouvert (dossier manquant ou droits insuffisants).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Cannot write to the reads database {where}: the database reported: {error}.</source>
        <translation>Impossible d&apos;écrire dans la base des lectures {where}&#xa0;: la base de données a signalé&#xa0;: {error}.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The reads database {where} has schema version {version}, newer than this NAMECAR Viewer (version {current}): update the application. The database was not changed.</source>
        <translation>La base des lectures {where} a la version de schéma {version}, plus récente que ce NAMECAR Viewer (version {current})&#xa0;: mettez à jour l&apos;application. La base n&apos;a pas été modifiée.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The reads database {where} has schema revision {revision}, newer than this NAMECAR Viewer (newest known: {head}): update the application. The database was not changed.</source>
        <translation>La base des lectures {where} a la révision de schéma {revision}, plus récente que ce NAMECAR Viewer (la plus récente connue&#xa0;: {head})&#xa0;: mettez à jour l&apos;application. La base n&apos;a pas été modifiée.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>timepoint {key} was changed or removed by another session in {where}; reload the read.</source>
        <translation>L&apos;évaluation {key} a été modifiée ou supprimée par une autre session dans {where}&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>lesion {key} was changed or removed by another session in {where}; reload the read.</source>
        <translation>La lésion {key} a été modifiée ou supprimée par une autre session dans {where}&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>measurement {key} was changed or removed by another session in {where}; reload the read.</source>
        <translation>La mesure {key} a été modifiée ou supprimée par une autre session dans {where}&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>status {key} was changed or removed by another session in {where}; reload the read.</source>
        <translation>Le statut {key} a été modifié ou supprimé par une autre session dans {where}&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>setting {key} was changed or removed by another session in {where}; reload the read.</source>
        <translation>Le réglage {key} a été modifié ou supprimé par une autre session dans {where}&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>read {key} was changed by another session in {where} (row version {version} is out of date); reload the read.</source>
        <translation>La lecture {key} a été modifiée par une autre session dans {where} (la version {version} de la ligne est périmée)&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>timepoint {key} was changed by another session in {where} (row version {version} is out of date); reload the read.</source>
        <translation>L&apos;évaluation {key} a été modifiée par une autre session dans {where} (la version {version} de la ligne est périmée)&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>lesion {key} was changed by another session in {where} (row version {version} is out of date); reload the read.</source>
        <translation>La lésion {key} a été modifiée par une autre session dans {where} (la version {version} de la ligne est périmée)&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>measurement {key} was changed by another session in {where} (row version {version} is out of date); reload the read.</source>
        <translation>La mesure {key} a été modifiée par une autre session dans {where} (la version {version} de la ligne est périmée)&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>status {key} was changed by another session in {where} (row version {version} is out of date); reload the read.</source>
        <translation>Le statut {key} a été modifié par une autre session dans {where} (la version {version} de la ligne est périmée)&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>setting {key} was changed by another session in {where} (row version {version} is out of date); reload the read.</source>
        <translation>Le réglage {key} a été modifié par une autre session dans {where} (la version {version} de la ligne est périmée)&#xa0;; rechargez la lecture.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The study index {path} has schema version {version}, newer than this program&apos;s {current}; use a newer NAMECAR Viewer.</source>
        <translation>L&apos;index des examens {path} a la version de schéma {version}, plus récente que celle de ce programme ({current})&#xa0;; utilisez un NAMECAR Viewer plus récent.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>No database given (use --db URL or set NAMECAR_DB).</source>
        <translation>Aucune base de données indiquée (utilisez --db URL ou définissez NAMECAR_DB).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not a database URL: {url} ({error}).</source>
        <translation>Ce n&apos;est pas une URL de base de données&#xa0;: {url} ({error}).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unsupported database {url}: use a file path, sqlite:///FILE or postgresql://user:password@host:port/database.</source>
        <translation>Base de données non prise en charge {url}&#xa0;: utilisez un chemin de fichier, sqlite:///FICHIER ou postgresql://utilisateur:mot_de_passe@hôte:port/base.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>the demo read could not be saved: {error}</source>
        <translation>la lecture de démonstration n&apos;a pas pu être enregistrée&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{path} is missing: write the demo patient first.</source>
        <translation>{path} est absent&#xa0;: écrivez d&apos;abord le patient de démonstration.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{path} is missing: the demo patient is incomplete.</source>
        <translation>{path} est absent&#xa0;: le patient de démonstration est incomplet.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cannot write {path}: it is a folder; give a file name.</source>
        <translation>Impossible d&apos;écrire {path}&#xa0;: c&apos;est un dossier&#xa0;; indiquez un nom de fichier.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot write {path}: permission denied (the folder is not writable).</source>
        <translation>Impossible d&apos;écrire {path}&#xa0;: permission refusée (le dossier n&apos;est pas accessible en écriture).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cannot write {path}: the folder does not exist.</source>
        <translation>Impossible d&apos;écrire {path}&#xa0;: le dossier n&apos;existe pas.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot write {path}: it is a folder.</source>
        <translation>Impossible d&apos;écrire {path}&#xa0;: c&apos;est un dossier.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cannot write {path}: {reason}.</source>
        <translation>Impossible d&apos;écrire {path}&#xa0;: {reason}.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No key images (KOS) written: {error}</source>
        <translation>Aucune image clé (KOS) écrite&#xa0;: {error}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Read {uid} has no key image: no lesion is measured or marked on an image and no image is flagged.</source>
        <translation>La lecture {uid} n&apos;a aucune image clé&#xa0;: aucune lésion n&apos;est mesurée ou repérée sur une image et aucune image n&apos;est marquée.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Read {uid}: none of its key images was found; the KOS needs their headers (give the folder of the images or import them into the study browser).</source>
        <translation>Lecture {uid}&#xa0;: aucune de ses images clés n&apos;a été trouvée&#xa0;; le KOS a besoin de leurs en-têtes (indiquez le dossier des images ou importez-les dans le navigateur d&apos;examens).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Key image {uid} not found; not in the KOS.</source>
        <translation>Image clé {uid} introuvable&#xa0;; absente du KOS.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Read {uid}: none of its measurements&apos; source images was found; the SR needs their headers (give the folder of the images or import them into the study browser).</source>
        <translation>Lecture {uid}&#xa0;: aucune des images sources de ses mesures n&apos;a été trouvée&#xa0;; le SR a besoin de leurs en-têtes (indiquez le dossier des images ou importez-les dans le navigateur d&apos;examens).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No RECIST response exported: {why}</source>
        <translation>Aucune réponse RECIST exportée&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{lesion} at {timepoint}: source image {uid} not found; referenced by its patient coordinates only.</source>
        <translation>{lesion} à {timepoint}&#xa0;: image source {uid} introuvable&#xa0;; référencée par ses seules coordonnées patient.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>annotation {label}: source image {uid} not found; referenced by its patient coordinates only.</source>
        <translation>annotation {label}&#xa0;: image source {uid} introuvable&#xa0;; référencée par ses seules coordonnées patient.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{lesion} at {timepoint}: no frame of reference; {measure} has no coordinates.</source>
        <translation>{lesion} à {timepoint}&#xa0;: pas de référentiel&#xa0;; {measure} sans coordonnées.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>annotation {label}: no frame of reference; {measure} has no coordinates.</source>
        <translation>annotation {label}&#xa0;: pas de référentiel&#xa0;; {measure} sans coordonnées.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{lesion} at {timepoint}: {kind} annotation {uid} has no value; not exported.</source>
        <translation>{lesion} à {timepoint}&#xa0;: l&apos;annotation {kind} {uid} n&apos;a pas de valeur&#xa0;; non exportée.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>annotation {label}: {kind} annotation {uid} has no value; not exported.</source>
        <translation>annotation {label}&#xa0;: l&apos;annotation {kind} {uid} n&apos;a pas de valeur&#xa0;; non exportée.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Long axis</source>
        <translation>Grand axe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Short axis</source>
        <translation>Petit axe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Length</source>
        <translation>Longueur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Volume</source>
        <translation>Volume</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Area</source>
        <translation>Surface</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{lesion} {timepoint}: image {uid} not found</source>
        <translation>{lesion} {timepoint}&#xa0;: image {uid} introuvable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>flagged {label}: image {uid} not found</source>
        <translation>image clé marquée ({label})&#xa0;: image {uid} introuvable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>flagged: image {uid} not found</source>
        <translation>image clé marquée&#xa0;: image {uid} introuvable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{lesion} {timepoint}: no image plane in the header ({error})</source>
        <translation>{lesion} {timepoint}&#xa0;: aucun plan d&apos;image dans l&apos;en-tête ({error})</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Audit entry {seq} deleted (the chain jumps to entry {next}).</source>
        <translation>Entrée d&apos;audit {seq} supprimée (la chaîne saute à l&apos;entrée {next}).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Audit entries {first}-{last} deleted (the chain jumps to entry {next}).</source>
        <translation>Entrées d&apos;audit {first}-{last} supprimées (la chaîne saute à l&apos;entrée {next}).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Audit entry {seq} is duplicated or out of order.</source>
        <translation>L&apos;entrée d&apos;audit {seq} est en double ou hors de son ordre.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Audit entry {seq} ({when}, {user}, {action} {entity}) was edited: its content does not match its stored hash.</source>
        <translation>L&apos;entrée d&apos;audit {seq} ({when}, {user}, {action} {entity}) a été modifiée&#xa0;: son contenu ne correspond pas à son empreinte enregistrée.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Audit entry {seq} does not follow entry {previous}: the previous entry was edited or replaced (its hash changed).</source>
        <translation>L&apos;entrée d&apos;audit {seq} ne suit pas l&apos;entrée {previous}&#xa0;: l&apos;entrée précédente a été modifiée ou remplacée (son empreinte a changé).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Audit entry {seq} deleted (the chain head records {n} entries).</source>
        <translation>Entrée d&apos;audit {seq} supprimée (la tête de chaîne compte {n} entrées).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Audit entries {first}-{last} deleted (the chain head records {n} entries).</source>
        <translation>Entrées d&apos;audit {first}-{last} supprimées (la tête de chaîne compte {n} entrées).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Audit entry {seq} does not match the chain head (edited and re-hashed).</source>
        <translation>L&apos;entrée d&apos;audit {seq} ne correspond pas à la tête de chaîne (modifiée, puis son empreinte recalculée).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Audit entries {first}-{last} were inserted outside the application (the chain head does not know them).</source>
        <translation>Les entrées d&apos;audit {first}-{last} ont été insérées hors de l&apos;application (la tête de chaîne ne les connaît pas).</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>A user name is 1-128 letters, digits, spaces or . _ @ - and starts with a letter or digit.</source>
        <translation>Un nom d&apos;utilisateur compte de 1 à 128 lettres, chiffres, espaces ou . _ @ - et commence par une lettre ou un chiffre.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The user name {user} is already taken.</source>
        <translation>Le nom d&apos;utilisateur {user} est déjà pris.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Only an administrator may create accounts; {user} is not one.</source>
        <translation>Seul un administrateur peut créer des comptes&#xa0;; {user} n&apos;en est pas un.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only an administrator may enable accounts; {user} is not one.</source>
        <translation>Seul un administrateur peut activer les comptes&#xa0;; {user} n&apos;en est pas un.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>first run</source>
        <translation>premier lancement</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>single-user site</source>
        <translation>site mono-utilisateur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>created</source>
        <translation>compte créé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>password set</source>
        <translation>mot de passe défini</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>accounts enabled</source>
        <translation>comptes activés</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unknown or inactive user</source>
        <translation>utilisateur inconnu ou inactif</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>wrong password</source>
        <translation>mot de passe incorrect</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>wrong password at signature</source>
        <translation>mot de passe incorrect à la signature</translation>
    </message>
</context>
<context>
    <name>dicom</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/dicom_texts.py" line="+5"/>
        <source>empty file</source>
        <translation>fichier vide</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a gzip-compressed file, not DICOM itself: decompress it (gunzip) and load what it holds</source>
        <translation>fichier compressé gzip, pas un fichier DICOM en soi&#xa0;: décompressez-le (gunzip) et chargez ce qu&apos;il contient</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>truncated file: {why}</source>
        <translation>fichier tronqué&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the file ends at byte {size}, inside its header</source>
        <translation>le fichier s&apos;arrête à l&apos;octet {size}, dans son en-tête</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not a DICOM file (no preamble, no DICOM tags)</source>
        <translation>pas un fichier DICOM (ni préambule, ni balise DICOM)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>corrupt DICOM header: no SOPClassUID (0008,0016) nor image attributes could be read ({warning})</source>
        <translation>en-tête DICOM corrompu&#xa0;: ni SOPClassUID (0008,0016) ni attribut d&apos;image n&apos;a pu être lu ({warning})</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>corrupt DICOM header: {why}</source>
        <translation>en-tête DICOM corrompu&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>cannot be read: {why}</source>
        <translation>illisible&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SOPClassUID (0008,0016) cannot be read</source>
        <translation>SOPClassUID (0008,0016) illisible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>corrupt DICOM header: the SOP class {value} is not a UID</source>
        <translation>en-tête DICOM corrompu&#xa0;: la classe SOP {value} n&apos;est pas un UID</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>corrupt DICOM header: neither SOPClassUID (0008,0016) nor Modality (0008,0060) nor Rows (0028,0010) could be read</source>
        <translation>en-tête DICOM corrompu&#xa0;: ni SOPClassUID (0008,0016), ni Modality (0008,0060), ni Rows (0028,0010) n&apos;ont pu être lus</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>corrupt header: {why}</source>
        <translation>en-tête corrompu&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>image header not understood: {why}</source>
        <translation>en-tête d&apos;image non interprétable&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no Pixel Data (7FE0,0010) element: file truncated before the pixels</source>
        <translation>pas d&apos;élément Pixel Data (7FE0,0010)&#xa0;: fichier tronqué avant les pixels</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>truncated pixel data: Rows {rows} x Columns {columns} x {bits} bits x {frames} frame(s) needs {expected} bytes, the file holds {available}</source>
        <translation>données de pixels tronquées&#xa0;: Rows {rows} x Columns {columns} x {bits} bits x {frames} trame(s) demandent {expected} octets, le fichier en contient {available}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>a zip archive with no DICOM file in it: none of its {count} files can be read (the first, {member}: {reason})</source>
        <translation>archive zip sans fichier DICOM&#xa0;: aucun de ses {count} fichiers n&apos;est lisible (le premier, {member}&#xa0;: {reason})</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>the file ends inside an element header at byte {offset}</source>
        <translation>le fichier s&apos;arrête dans l&apos;en-tête d&apos;un élément, à l&apos;octet {offset}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the file ends at byte {size} inside element ({group},{element}), whose value needs {length} bytes from byte {offset}</source>
        <translation>le fichier s&apos;arrête à l&apos;octet {size} dans l&apos;élément ({group},{element}), dont la valeur demande {length} octets à partir de l&apos;octet {offset}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>no such file or folder</source>
        <translation>fichier ou dossier introuvable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>is a folder</source>
        <translation>c&apos;est un dossier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>DICOMDIR cannot be read: {why}</source>
        <translation>DICOMDIR illisible&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>referenced by DICOMDIR but missing</source>
        <translation>référencé par le DICOMDIR mais absent</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>zip archive cannot be opened: {why}</source>
        <translation>impossible d&apos;ouvrir l&apos;archive zip&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Permission denied</source>
        <translation>Permission refusée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No such file or directory</source>
        <translation>Fichier ou dossier introuvable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Is a directory</source>
        <translation>C&apos;est un dossier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Input/output error</source>
        <translation>Erreur d&apos;entrée/sortie</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>File is not a zip file</source>
        <translation>Le fichier n&apos;est pas une archive zip</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{element} cannot be read ({why})</source>
        <translation>{element} illisible ({why})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}, not a number</source>
        <translation>{element} vaut {value}, pas un nombre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}, not a finite number</source>
        <translation>{element} vaut {value}, pas un nombre fini</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}, not a whole number</source>
        <translation>{element} vaut {value}, pas un nombre entier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} {frames} frames need {needed} bytes of pixels; the file has {size}</source>
        <translation>{element} {frames} trames demandent {needed} octets de pixels&#xa0;; le fichier en contient {size}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{element} {frames} frames cannot fit in a {size}-byte file</source>
        <translation>{element} {frames} trames ne peuvent pas tenir dans un fichier de {size} octets</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>an image without {element}: the header is cut short or damaged</source>
        <translation>image sans {element}&#xa0;: l&apos;en-tête est tronqué ou endommagé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>an image without {element} and {other_element}: the header is cut short or damaged</source>
        <translation>image sans {element} ni {other_element}&#xa0;: l&apos;en-tête est tronqué ou endommagé</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{element} is {value}: an image needs 1 to {maximum}</source>
        <translation>{element} vaut {value}&#xa0;: une image demande de 1 à {maximum}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}: 1 to {maximum} expected</source>
        <translation>{element} vaut {value}&#xa0;: de 1 à {maximum} attendu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}: 1, 8, 16, 32 or 64 expected</source>
        <translation>{element} vaut {value}&#xa0;: 1, 8, 16, 32 ou 64 attendu</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{element} is {value} with BitsAllocated (0028,0100) {bits}</source>
        <translation>{element} vaut {value} avec BitsAllocated (0028,0100) {bits}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}: 0 or 1 expected</source>
        <translation>{element} vaut {value}&#xa0;: 0 ou 1 attendu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}: 1, 3 or 4 expected</source>
        <translation>{element} vaut {value}&#xa0;: 1, 3 ou 4 attendu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{rows_element} {rows} x {columns_element} {columns} x {frames} frame(s) x {samples} sample(s) x {bits} bits is {size} GiB of pixels, beyond the {budget} GiB budget of one file</source>
        <translation>{rows_element} {rows} x {columns_element} {columns} x {frames} trame(s) x {samples} échantillon(s) x {bits} bits font {size} GiB de pixels, au-delà du budget de {budget} GiB par fichier</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{element} is {value}: not unit direction cosines</source>
        <translation>{element} vaut {value}&#xa0;: pas des cosinus directeurs unitaires</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}: rows and columns not orthogonal</source>
        <translation>{element} vaut {value}&#xa0;: lignes et colonnes non orthogonales</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}: beyond {maximum} mm</source>
        <translation>{element} vaut {value}&#xa0;: au-delà de {maximum} mm</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{element} is {value}: beyond +/-{maximum}, not a modality value</source>
        <translation>{element} vaut {value}&#xa0;: au-delà de +/-{maximum}, pas une valeur de modalité</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: the compressed frame declares {height} x {width} pixels, the header {rows_element} x {columns_element} says {rows} x {columns}: not decoded</source>
        <translation>{file}&#xa0;: la trame compressée déclare {height} x {width} pixels, l&apos;en-tête {rows_element} x {columns_element} indique {rows} x {columns}&#xa0;: non décodée</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{file}: the compressed frame declares {height} x {width} pixels, the header {rows_element} x {columns_element} says {rows} x {columns}: not decoded (frame {frame})</source>
        <translation>{file}&#xa0;: la trame compressée déclare {height} x {width} pixels, l&apos;en-tête {rows_element} x {columns_element} indique {rows} x {columns}&#xa0;: non décodée (trame {frame})</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>no DICM prefix</source>
        <translation>pas de préfixe DICM</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the File Meta group does not end</source>
        <translation>le groupe File Meta ne se termine pas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: no DICM prefix</source>
        <translation>{file}&#xa0;: pas de préfixe DICM</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: the File Meta group does not end</source>
        <translation>{file}&#xa0;: le groupe File Meta ne se termine pas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: no deflated transfer syntax in the File Meta group</source>
        <translation>{file}&#xa0;: pas de syntaxe de transfert Deflate dans le groupe File Meta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: the deflated data inflates beyond {cap} MiB ({size} bytes in the file): refused as a decompression bomb</source>
        <translation>{file}&#xa0;: les données compressées (Deflate) dépassent {cap} MiB une fois décompressées ({size} octets dans le fichier)&#xa0;: refusées comme bombe de décompression</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>images repeating slice positions could not be told apart ({why}): kept as one stack</source>
        <translation>les images qui répètent des positions de coupe n&apos;ont pas pu être distinguées ({why})&#xa0;: gardées en une seule pile</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>the images of this stack map their stored values differently ({kinds}): values may not be comparable between slices</source>
        <translation>les images de cette pile convertissent leurs valeurs stockées de façons différentes ({kinds})&#xa0;: les valeurs peuvent ne pas être comparables d&apos;une coupe à l&apos;autre</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>series mixes image sizes {sizes}: split into one stack per size</source>
        <translation>la série mêle des tailles d&apos;image différentes {sizes}&#xa0;: séparée en une pile par taille</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the {count} images of this series could not be put together ({error})</source>
        <translation>les {count} images de cette série n&apos;ont pas pu être assemblées ({error})</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>grouping</source>
        <translation>regroupement</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{file} (frame {frame})</source>
        <translation>{file} (trame {frame})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file} (tile {tile})</source>
        <translation>{file} (vignette {tile})</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>a stack needs at least one image</source>
        <translation>une pile demande au moins une image</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037) missing: images shown in acquisition order with a nominal geometry; distances are in pixel spacing units only</source>
        <translation>ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037) absents&#xa0;: images affichées dans l&apos;ordre d&apos;acquisition avec une géométrie nominale&#xa0;; les distances ne sont qu&apos;en unités d&apos;espacement des pixels</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037) missing: images shown in acquisition order with a nominal geometry; distances are in pixel spacing units only (PixelSpacing missing or not positive: 1 mm assumed)</source>
        <translation>ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037) absents&#xa0;: images affichées dans l&apos;ordre d&apos;acquisition avec une géométrie nominale&#xa0;; les distances ne sont qu&apos;en unités d&apos;espacement des pixels (PixelSpacing absent ou non positif&#xa0;: 1 mm supposé)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{count} image(s) lack ImagePositionPatient (0020,0032) or ImageOrientationPatient (0020,0037) and were left out of the volume</source>
        <translation>{count} image(s) sans ImagePositionPatient (0020,0032) ou ImageOrientationPatient (0020,0037), laissée(s) hors du volume</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>PixelSpacing (0028,0030) missing: 1 mm assumed, distances are not calibrated</source>
        <translation>PixelSpacing (0028,0030) absent&#xa0;: 1 mm supposé, les distances ne sont pas étalonnées</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>PixelSpacing (0028,0030) {spacing}, not positive: 1 mm assumed, distances are not calibrated</source>
        <translation>PixelSpacing (0028,0030) {spacing}, non positif&#xa0;: 1 mm supposé, les distances ne sont pas étalonnées</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{count} image(s) repeat a slice position already present; the first (lowest InstanceNumber) was kept</source>
        <translation>{count} image(s) répète(nt) une position de coupe déjà présente&#xa0;; la première (plus petit InstanceNumber) est gardée</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>slices are sheared (gantry tilt {tilt} degrees): loaded exactly through a sheared affine</source>
        <translation>coupes cisaillées (inclinaison du statif de {tilt} degrés)&#xa0;: chargées exactement par une matrice affine cisaillée</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>gap of {gap} mm between slice positions {start} and {end} mm ({count} missing slice(s) at {spacing} mm): shown as blank slices</source>
        <translation>écart de {gap} mm entre les positions de coupe {start} et {end} mm ({count} coupe(s) manquante(s) à {spacing} mm)&#xa0;: affichées comme coupes vides</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>slice spacing varies ({gaps}): resampled linearly every {spacing} mm, {why}: {images} images became {slices} slices</source>
        <translation>l&apos;espacement des coupes varie ({gaps})&#xa0;: rééchantillonné linéairement tous les {spacing} mm, {why}&#xa0;: {images} images sont devenues {slices} coupes</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>the smallest gap</source>
        <translation>le plus petit écart</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the smallest usual gap (a lone {gap} mm gap left out)</source>
        <translation>le plus petit écart habituel (un écart isolé de {gap} mm ignoré)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the median gap (a smaller one would make over {factor}x the slices)</source>
        <translation>l&apos;écart médian (un plus petit multiplierait les coupes par plus de {factor})</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>a grid of {slices} slices over the whole extent (even the median gap would make over {factor}x the slices)</source>
        <translation>une grille de {slices} coupes sur toute l&apos;étendue (même l&apos;écart médian multiplierait les coupes par plus de {factor})</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>SliceThickness (0018,0050) {thickness} mm differs from the spacing between slice positions {spacing} mm (overlapping); the positions are used</source>
        <translation>SliceThickness (0018,0050) de {thickness} mm différente de l&apos;espacement entre les positions de coupe de {spacing} mm (coupes chevauchantes)&#xa0;; les positions sont utilisées</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>SliceThickness (0018,0050) {thickness} mm differs from the spacing between slice positions {spacing} mm (with gaps between slices); the positions are used</source>
        <translation>SliceThickness (0018,0050) de {thickness} mm différente de l&apos;espacement entre les positions de coupe de {spacing} mm (coupes non jointives)&#xa0;; les positions sont utilisées</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>slice positions hold {fewest} to {most} images each and nothing in the headers tells their volumes apart: split into {most} volumes by acquisition order; the volumes after a missing image may mix time points</source>
        <translation>les positions de coupe contiennent chacune de {fewest} à {most} images et rien dans les en-têtes ne distingue leurs volumes&#xa0;: séparées en {most} volumes selon l&apos;ordre d&apos;acquisition&#xa0;; les volumes qui suivent une image manquante peuvent mêler plusieurs temps</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{count} images at each slice position and nothing in the headers tells their volumes apart: split by acquisition order, although NumberOfTemporalPositions (0020,0105) says {stated}</source>
        <translation>{count} images à chaque position de coupe et rien dans les en-têtes ne distingue leurs volumes&#xa0;: séparées selon l&apos;ordre d&apos;acquisition, bien que NumberOfTemporalPositions (0020,0105) indique {stated}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{count} images at each slice position and nothing in the headers tells their volumes apart: split into volumes by acquisition order</source>
        <translation>{count} images à chaque position de coupe et rien dans les en-têtes ne distingue leurs volumes&#xa0;: séparées en volumes selon l&apos;ordre d&apos;acquisition</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>GE epi_pepolar image without a known polarity mode in UserData12 (0019,10B3): volumes of reversed phase encoding, stored upside down, cannot be told; shown as stored</source>
        <translation>image GE epi_pepolar sans mode de polarité connu dans UserData12 (0019,10B3)&#xa0;: les volumes à codage de phase inversé, stockés à l&apos;envers, ne peuvent pas être reconnus&#xa0;; affichée telle que stockée</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>GE epi_pepolar, UserData12 (0019,10B3) = {mode} ({polarity}): without TemporalPositionIdentifier (0020,0100) the volumes of reversed phase encoding, stored upside down, cannot be told; shown as stored</source>
        <translation>GE epi_pepolar, UserData12 (0019,10B3) = {mode} ({polarity})&#xa0;: sans TemporalPositionIdentifier (0020,0100), les volumes à codage de phase inversé, stockés à l&apos;envers, ne peuvent pas être reconnus&#xa0;; affichés tels que stockés</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>GE epi_pepolar, UserData12 (0019,10B3) = {mode} ({polarity}): this volume, of reversed phase encoding, is stored with its rows in reverse order, which the header does not say; its rows are put back in the header&apos;s order, as dcm2niix does</source>
        <translation>GE epi_pepolar, UserData12 (0019,10B3) = {mode} ({polarity})&#xa0;: ce volume, à codage de phase inversé, est stocké avec ses lignes en ordre inverse, ce que l&apos;en-tête ne dit pas&#xa0;; ses lignes sont remises dans l&apos;ordre de l&apos;en-tête, comme le fait dcm2niix</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>forward</source>
        <translation>direct</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>reversed</source>
        <translation>inversé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>reversed then forward</source>
        <translation>inversé puis direct</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>forward then reversed</source>
        <translation>direct puis inversé</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>ImageType says MOSAIC but NumberOfImagesInMosaic (CSA image header (0029,1010) or (0019,100A)) is missing or invalid</source>
        <translation>ImageType indique MOSAIC mais NumberOfImagesInMosaic (en-tête image CSA (0029,1010) ou (0019,100A)) est absent ou invalide</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>a mosaic of {count} images needs a {grid} x {grid} grid, but Rows {rows} x Columns {columns} do not divide into it</source>
        <translation>une mosaïque de {count} images demande une grille de {grid} x {grid}, mais Rows {rows} x Columns {columns} ne s&apos;y divisent pas</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Rows {rows} x Columns {columns} cannot hold {count} tiles</source>
        <translation>Rows {rows} x Columns {columns} ne peuvent pas contenir {count} vignettes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ImageType says VFRAME but the per-slice positions (0065,1051) are missing or disagree with the number of slices (0065,1050) {count}</source>
        <translation>ImageType indique VFRAME mais les positions par coupe (0065,1051) sont absentes ou en désaccord avec le nombre de coupes (0065,1050) {count}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>VFRAME slice {slice} has no ImagePositionPatient in (0065,1051)</source>
        <translation>la coupe VFRAME {slice} n&apos;a pas d&apos;ImagePositionPatient dans (0065,1051)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Siemens mosaic: {note}</source>
        <translation>mosaïque Siemens&#xa0;: {note}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>UIH VFRAME: {note}</source>
        <translation>VFRAME UIH&#xa0;: {note}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SliceNormalVector missing from the CSA header: slices assumed in the direction of row x column</source>
        <translation>SliceNormalVector absent de l&apos;en-tête CSA&#xa0;: coupes supposées dans la direction ligne x colonne</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>no SpacingBetweenSlices nor SliceThickness: 1 mm assumed</source>
        <translation>ni SpacingBetweenSlices ni SliceThickness&#xa0;: 1 mm supposé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SpacingBetweenSlices missing: SliceThickness used as the spacing</source>
        <translation>SpacingBetweenSlices absent&#xa0;: SliceThickness utilisé comme espacement</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Real World Value Mapping &apos;{label}&apos; (0040,9096): values in {unit}</source>
        <translation>Real World Value Mapping «&#xa0;{label}&#xa0;» (0040,9096)&#xa0;: valeurs en {unit}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Real World Value Mapping (0040,9096): values in {unit}</source>
        <translation>Real World Value Mapping (0040,9096)&#xa0;: valeurs en {unit}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Philips floating-point values: (stored x RescaleSlope + RescaleIntercept) / (RescaleSlope x scale slope (2005,100E)), comparable between images; no unit stated</source>
        <translation>valeurs en virgule flottante Philips&#xa0;: (valeur stockée x RescaleSlope + RescaleIntercept) / (RescaleSlope x pente d&apos;échelle (2005,100E)), comparables d&apos;une image à l&apos;autre&#xa0;; aucune unité indiquée</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Real World Value Mapping &apos;{label}&apos; (0040,9096): no unit stated</source>
        <translation>Real World Value Mapping «&#xa0;{label}&#xa0;» (0040,9096)&#xa0;: aucune unité indiquée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Real World Value Mapping (0040,9096): no unit stated</source>
        <translation>Real World Value Mapping (0040,9096)&#xa0;: aucune unité indiquée</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{file}: no pixel data</source>
        <translation>{file}&#xa0;: pas de données de pixels</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: cannot be read: {why}</source>
        <translation>{file}&#xa0;: illisible&#xa0;: {why}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: pixel data cannot be decoded ({error})</source>
        <translation>{file}&#xa0;: données de pixels impossibles à décoder ({error})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: truncated pixel data ({read} of {needed} bytes)</source>
        <translation>{file}&#xa0;: données de pixels tronquées ({read} octets sur {needed})</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>stack {stack} is not loadable: {reasons}</source>
        <translation>la pile {stack} n&apos;est pas chargeable&#xa0;: {reasons}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>error: {message} [{files}]</source>
        <translation>erreur&#xa0;: {message} [{files}]</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>error: {message} [{files}]; {more}</source>
        <translation>erreur&#xa0;: {message} [{files}]&#xa0;; {more}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pixel data cannot be decoded: {reason}</source>
        <translation>données de pixels impossibles à décoder&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no image of stack {stack} could be decoded: {reason}</source>
        <translation>aucune image de la pile {stack} n&apos;a pu être décodée&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file}: decoded mosaic size {size} differs from Rows/Columns {expected}</source>
        <translation>{file}&#xa0;: la taille décodée de la mosaïque {size} diffère de Rows/Columns {expected}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{file}: decoded size {size} differs from Rows/Columns {expected}</source>
        <translation>{file}&#xa0;: la taille décodée {size} diffère de Rows/Columns {expected}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no loadable image stack found</source>
        <translation>aucune pile d&apos;images chargeable trouvée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no loadable image stack found: {reasons}</source>
        <translation>aucune pile d&apos;images chargeable trouvée&#xa0;: {reasons}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>no loadable image stack found: {file}: {reason}</source>
        <translation>aucune pile d&apos;images chargeable trouvée&#xa0;: {file}&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no loadable image stack found: {file}: {reason}; {file2}: {reason2}</source>
        <translation>aucune pile d&apos;images chargeable trouvée&#xa0;: {file}&#xa0;: {reason}&#xa0;; {file2}&#xa0;: {reason2}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>no loadable image stack found: {file}: {reason}; {file2}: {reason2}; {file3}: {reason3}</source>
        <translation>aucune pile d&apos;images chargeable trouvée&#xa0;: {file}&#xa0;: {reason}&#xa0;; {file2}&#xa0;: {reason2}&#xa0;; {file3}&#xa0;: {reason3}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>no loadable image stack found: {file}: {reason}; {file2}: {reason2}; {file3}: {reason3}; {file4}: {reason4}</source>
        <translation>aucune pile d&apos;images chargeable trouvée&#xa0;: {file}&#xa0;: {reason}&#xa0;; {file2}&#xa0;: {reason2}&#xa0;; {file3}&#xa0;: {reason3}&#xa0;; {file4}&#xa0;: {reason4}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>no loadable image stack found: {file}: {reason}; {file2}: {reason2}; {file3}: {reason3}; {file4}: {reason4}; {file5}: {reason5}</source>
        <translation>aucune pile d&apos;images chargeable trouvée&#xa0;: {file}&#xa0;: {reason}&#xa0;; {file2}&#xa0;: {reason2}&#xa0;; {file3}&#xa0;: {reason3}&#xa0;; {file4}&#xa0;: {reason4}&#xa0;; {file5}&#xa0;: {reason5}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{count} other stack(s) found and not loaded: {stacks}</source>
        <translation>{count} autre(s) pile(s) trouvée(s) et non chargée(s)&#xa0;: {stacks}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} other stack(s) found and not loaded: </source>
        <translation>{count} autre(s) pile(s) trouvée(s) et non chargée(s)&#xa0;: </translation>
    </message>
</context>
<context>
    <name>lesion_assignment</name>
    <message>
        <location filename="../../src/namecar_viewer/app/lesion_assignment.py" line="+211"/>
        <source>{site} {station}</source>
        <translation>{site} {station}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{label} {site}, not located yet</source>
        <translation>{label} {site}, pas encore localisée</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{label} {site}, expected here ({mm:.0f} mm)</source>
        <translation>{label} {site}, attendue ici ({mm:.0f} mm)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{label} {site}, expected here ({mm:.0f} mm, not aligned)</source>
        <translation>{label} {site}, attendue ici ({mm:.0f} mm, non alignée)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{label} {site}, expected {mm:.0f} mm away</source>
        <translation>{label} {site}, attendue à {mm:.0f} mm</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{lesion}: replaces its measurement here</source>
        <translation>{lesion}&#xa0;: remplace sa mesure ici</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>New target lesion</source>
        <translation>Nouvelle lésion cible</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>New non-target lesion</source>
        <translation>Nouvelle lésion non cible</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+47"/>
        <source>Not part of the RECIST read (annotation)</source>
        <translation>Hors lecture RECIST (annotation)</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>baseline: a new lesion</source>
        <translation>référence&#xa0;: une nouvelle lésion</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>baseline: an area or volume ROI is no lesion unless you say so</source>
        <translation>référence&#xa0;: une ROI de surface ou de volume n&apos;est pas une lésion sauf indication contraire</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>baseline: RECIST allows no more targets here (5 in all, 2 per organ)</source>
        <translation>référence&#xa0;: RECIST n&apos;autorise plus de cible ici (5 au total, 2 par organe)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>New lesion (a new finding at this follow-up)</source>
        <translation>Nouvelle lésion (nouvelle découverte à ce suivi)</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>an area ROI is no lesion unless chosen</source>
        <translation>une ROI de surface n&apos;est une lésion que si vous le choisissez</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>{label} selected and expected here ({mm:.0f} mm)</source>
        <translation>{label} sélectionnée et attendue ici ({mm:.0f} mm)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{label} already has a measurement here</source>
        <translation>{label} a déjà une mesure ici</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>another lesion is nearer than {label}</source>
        <translation>une autre lésion est plus proche que {label}</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{label} is selected but expected elsewhere: choose</source>
        <translation>{label} est sélectionnée mais attendue ailleurs&#xa0;: choisissez</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>no lesion selected: choose</source>
        <translation>aucune lésion sélectionnée&#xa0;: choisissez</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>no lesion expected here</source>
        <translation>aucune lésion attendue ici</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>New lesion of the MRI-PET record</source>
        <translation>Nouvelle lésion du dossier IRM-TEP</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Annotation (no lesion)</source>
        <translation>Annotation (sans lésion)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>first lesion of the MRI-PET record</source>
        <translation>première lésion du dossier IRM-TEP</translation>
    </message>
    <message>
        <location line="+57"/>
        <source>Re-measure {label}</source>
        <translation>Remesurer {label}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Measure {label}</source>
        <translation>Mesurer {label}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Create lesion {label}</source>
        <translation>Créer la lésion {label}</translation>
    </message>
</context>
<context>
    <name>proposals</name>
    <message>
        <location filename="../../src/namecar_viewer/app/proposals.py" line="+792"/>
        <source>Accept the proposed measurement of {label}</source>
        <translation>Accepter la mesure proposée de {label}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Measure {label}</source>
        <translation>Mesurer {label}</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Set the status of {label}</source>
        <translation>Définir le statut de {label}</translation>
    </message>
</context>
<context>
    <name>run_gui</name>
    <message>
        <location filename="../../src/namecar_viewer/gui/main.py" line="+37"/>
        <source>the demo patient generator (namecar_viewer.phantom.demo) is not available yet</source>
        <translation>le générateur du patient de démonstration (namecar_viewer.phantom.demo) n&apos;est pas encore disponible</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>writing the demo patient failed: {reason}</source>
        <translation>l&apos;écriture du patient de démonstration a échoué&#xa0;: {reason}</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Reads database unavailable ({reason}); working without login and signing.</source>
        <translation>Base des lectures indisponible ({reason})&#xa0;; travail sans connexion ni signature.</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>The study index cannot be opened ({reason}); using a temporary one.</source>
        <translation>L&apos;index des examens ne peut pas être ouvert ({reason})&#xa0;; un index temporaire est utilisé.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Demo patient unavailable: {reason}</source>
        <translation>Patient de démonstration indisponible&#xa0;: {reason}</translation>
    </message>
</context>
</TS>
